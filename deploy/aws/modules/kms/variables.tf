variable "name" {
  description = "Name prefix of the keys' aliases (todo-api-<environment>)."
  type        = string
}

variable "aws_region" {
  description = "Region of the keys; the CloudWatch Logs service principal is regional."
  type        = string
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled key deletion completes (a deleted key makes its data unreadable)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "KMS accepts a deletion window of 7 to 30 days."
  }
}
