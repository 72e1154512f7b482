variable "repository_name" {
  description = "Name of the image repository."
  type        = string
  default     = "todo-api"
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the images."
  type        = string
}

variable "keep_tagged_images" {
  description = "How many tagged images (one per deployed commit) to keep for rollbacks."
  type        = number
  default     = 30

  validation {
    condition     = var.keep_tagged_images >= 5
    error_message = "Keep at least 5 images: a rollback needs the previous ones."
  }
}

variable "force_delete" {
  description = "Allow deleting the repository with images in it (dev only)."
  type        = bool
  default     = false
}
