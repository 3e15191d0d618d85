variable "bucket_name" {
  description = "Name of the bucket."
  type        = string
}

variable "force_destroy" {
  description = "Allow destroying the bucket while it holds objects."
  type        = bool
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for default encryption (SSE-KMS); null for SSE-S3."
  type        = string
  default     = null
}

variable "manage_lifecycle" {
  description = "Give the bucket its lifecycle configuration (abort incomplete uploads, expire noncurrent versions and intermediate objects)."
  type        = bool
  default     = true
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which noncurrent object versions are deleted."
  type        = number
}

variable "intermediate_expiration_days" {
  description = "Days after which objects tagged intermediate=true expire."
  type        = number
}

variable "access_log_bucket_name" {
  description = "Bucket receiving server access logs; null for none."
  type        = string
  default     = null
}
