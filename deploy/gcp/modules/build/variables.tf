variable "project_id" {
  description = "Project that runs the builds."
  type        = string
}

variable "name" {
  description = "Prefix of the trigger and service account names (e.g. todo-api-prod)."
  type        = string
}

variable "region" {
  description = "Region of the Artifact Registry repository and the Cloud Run service."
  type        = string
}

variable "trigger_location" {
  description = "Location of the trigger and its builds. global runs on the default pool; a region (asia-northeast1) keeps builds in Japan but needs the GitHub repository connected in that region, and a private pool where Cloud Build restricts the default pool."
  type        = string
  default     = "global"
}

variable "repository_id" {
  description = "Artifact Registry Docker repository the build pushes to."
  type        = string
}

variable "image_name" {
  description = "Image name inside the repository."
  type        = string
  default     = "todo-api"
}

variable "github_owner" {
  description = "GitHub owner of the source repository (the Cloud Build GitHub App must be installed on it)."
  type        = string
}

variable "github_repository" {
  description = "GitHub repository name."
  type        = string
}

variable "branch_regex" {
  description = "Pushes to branches matching this regex trigger a build and deploy."
  type        = string
  default     = "^main$"
}

variable "require_approval" {
  description = "Builds wait for a manual approval in Cloud Build before they run (prod)."
  type        = bool
}

variable "service_name" {
  description = "Cloud Run service the build deploys."
  type        = string
}

variable "job_name" {
  description = "Cloud Run job that runs the migrations."
  type        = string
}

variable "purge_job_name" {
  description = "Cloud Run audit-purge job the build points at each new image after the migration."
  type        = string
}

variable "jobs_service_account_id" {
  description = "Resource ID of the jobs' service account (the migrate and purge jobs run as it)."
  type        = string
}

variable "runtime_service_account_id" {
  description = "Resource ID of the runtime service account the deploy attaches to revisions (actAs)."
  type        = string
}
