variable "project_id" {
  description = "Project that owns the secrets."
  type        = string
}

variable "name" {
  description = "Prefix of the secret IDs (e.g. todo-api-prod)."
  type        = string
}

variable "region" {
  description = "The one region secret payloads are stored in (user-managed replication, data residency in Japan)."
  type        = string
}

variable "kms_key_id" {
  description = "CMEK key (in var.region) that encrypts the secret payloads."
  type        = string
}

variable "accessor_email" {
  description = "The Cloud Run runtime service account: reads the service's secrets."
  type        = string

  validation {
    condition     = endswith(var.accessor_email, ".iam.gserviceaccount.com") && !endswith(var.accessor_email, "-compute@developer.gserviceaccount.com")
    error_message = "accessor_email must be a dedicated service account, not the Compute Engine default one."
  }
}

variable "jobs_accessor_email" {
  description = "Service account of the migrate, audit-purge and db-setup jobs: reads the owner's secrets."
  type        = string

  validation {
    condition     = endswith(var.jobs_accessor_email, ".iam.gserviceaccount.com") && !endswith(var.jobs_accessor_email, "-compute@developer.gserviceaccount.com")
    error_message = "jobs_accessor_email must be a dedicated service account, not the Compute Engine default one."
  }
}

variable "token_pepper_generation" {
  description = "Bump to add a new TOKEN_PEPPER version (a rotation; the old version is kept for TOKEN_PEPPER_PREVIOUS). See docs/deploy-gcp.md."
  type        = number
  default     = 1

  validation {
    condition     = var.token_pepper_generation >= 1 && floor(var.token_pepper_generation) == var.token_pepper_generation
    error_message = "token_pepper_generation must be a positive integer."
  }
}

variable "labels" {
  description = "Labels put on every secret."
  type        = map(string)
  default     = {}
}
