variable "project_id" {
  description = "Project that owns the key ring."
  type        = string
}

variable "name" {
  description = "Prefix of the key ring name (e.g. todo-api-prod)."
  type        = string
}

variable "region" {
  description = "Location of the key ring; CMEK keys must live in the region of the data they protect."
  type        = string
}

variable "rotation_period" {
  description = "Automatic rotation period of every key, in seconds with an s suffix (at most 90 days)."
  type        = string
  default     = "7776000s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.rotation_period)) && tonumber(trimsuffix(var.rotation_period, "s")) <= 7776000 && tonumber(trimsuffix(var.rotation_period, "s")) >= 86400
    error_message = "rotation_period must be between 86400s (1 day) and 7776000s (90 days)."
  }
}

variable "destroy_scheduled_duration" {
  description = "How long a destroyed key version stays recoverable before its material is gone (seconds with s suffix)."
  type        = string
  default     = "2592000s"
}
