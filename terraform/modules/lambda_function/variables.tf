variable "name" {
  description = "Function name (also names its role and log group)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9-_]{1,57}$", var.name))
    error_message = "name must be 1-57 characters of letters, digits, '-' and '_' (the role adds \"-lambda\")."
  }
}

variable "description" {
  description = "Function description."
  type        = string
  default     = ""
}

variable "handler" {
  description = "Handler, <package>.handler.lambda_handler."
  type        = string
}

variable "zip_path" {
  description = "Path of the deployment package built by `make build` (relative to the root module)."
  type        = string
}

variable "code_bucket" {
  description = "Bucket the package is uploaded to (under code/lambda/<name>/) and deployed from."
  type        = string
}

variable "build_info" {
  description = "Contents of build-info.json next to the zips ({python, architecture}); null when the file is missing."
  type = object({
    python       = string
    architecture = string
  })
  default = null
}

variable "runtime" {
  description = "Lambda runtime, e.g. python3.12."
  type        = string
}

variable "architecture" {
  description = "x86_64 or arm64."
  type        = string
}

variable "memory_size" {
  description = "Memory in MB."
  type        = number

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must be between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be between 1 and 900 seconds."
  }
}

variable "environment" {
  description = "Environment variables."
  type        = map(string)
  default     = {}
}

variable "policy_statements" {
  description = "Statements of the function's inline policy (Allow unless effect says Deny), keyed by Sid, on top of its own log group and X-Ray."
  type = map(object({
    effect     = optional(string, "Allow")
    actions    = list(string)
    resources  = list(string)
    conditions = optional(map(map(list(string))))
  }))
  default = {}

  validation {
    condition     = alltrue([for statement in values(var.policy_statements) : contains(["Allow", "Deny"], statement.effect)])
    error_message = "policy_statements effects are Allow or Deny."
  }

  validation {
    condition     = alltrue([for sid in keys(var.policy_statements) : can(regex("^[A-Za-z0-9]+$", sid))])
    error_message = "policy_statements keys are statement Sids: letters and digits only."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group."
  type        = number
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the log group and the environment variables; null for AWS managed encryption."
  type        = string
  default     = null
}
