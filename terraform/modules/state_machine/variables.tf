variable "name" {
  description = "State machine name (also names its role and log group)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9-_]{1,57}$", var.name))
    error_message = "name must be 1-57 characters of letters, digits, '-' and '_' (the role adds \"-states\")."
  }
}

variable "definition" {
  description = "Rendered ASL definition (JSON)."
  type        = string
}

variable "policy_statements" {
  description = "Statements of the role's inline policy for the service integrations (Allow unless effect says Deny), keyed by Sid (log delivery and X-Ray are added here)."
  type = map(object({
    effect     = optional(string, "Allow")
    actions    = list(string)
    resources  = list(string)
    conditions = optional(map(map(list(string))))
  }))

  validation {
    condition     = alltrue([for statement in values(var.policy_statements) : contains(["Allow", "Deny"], statement.effect)])
    error_message = "policy_statements effects are Allow or Deny."
  }

  validation {
    condition     = alltrue([for sid in keys(var.policy_statements) : can(regex("^[A-Za-z0-9]+$", sid))])
    error_message = "policy_statements keys are statement Sids: letters and digits only."
  }
}

variable "log_level" {
  description = "Execution history level sent to CloudWatch Logs: ALL, ERROR or FATAL."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be ALL, ERROR or FATAL."
  }
}

variable "include_execution_data" {
  description = "Log state input and output (they carry task tokens)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the state machine's log group."
  type        = number
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the log group and the state machine's data; null for AWS owned/managed keys."
  type        = string
  default     = null
}

variable "account_id" {
  description = "Account the role may be assumed from (aws:SourceAccount; confused-deputy protection)."
  type        = string
}
