variable "project_id" {
  description = "Project that stores the images."
  type        = string
}

variable "region" {
  description = "Region of the repository (images stay next to Cloud Run)."
  type        = string
}

variable "repository_id" {
  description = "Artifact Registry Docker repository name."
  type        = string
  default     = "todo-api"
}

variable "kms_key_id" {
  description = "CMEK key (same region) that encrypts the repository."
  type        = string
}

variable "keep_recent_images" {
  description = "Number of most recent image versions the cleanup policy always keeps (rollback targets)."
  type        = number
  default     = 30
}
