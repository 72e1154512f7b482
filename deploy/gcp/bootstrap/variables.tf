variable "project_id" {
  description = "Project of the environment (one state bucket per project)."
  type        = string
}

variable "region" {
  description = "Location of the bucket and its key (Tokyo)."
  type        = string
  default     = "asia-northeast1"
}

variable "noncurrent_version_days" {
  description = "Days old state versions are kept (rollback of a broken state)."
  type        = number
  default     = 90
}
