variable "aws_region" {
  description = "Region of the state bucket (the region of the deployment)."
  type        = string
  default     = "ap-northeast-1"
}

variable "name" {
  description = "Name prefix of the state bucket, its log bucket and its key."
  type        = string
  default     = "todo-api"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name is 2-21 lower-case letters, digits or hyphens."
  }
}

variable "allowed_account_ids" {
  description = "AWS account(s) this may be applied to (one state bucket per account). Empty: no guard."
  type        = list(string)
  default     = []
}

variable "noncurrent_version_days" {
  description = "Days old state versions are kept (rollback of a broken state)."
  type        = number
  default     = 90
}
