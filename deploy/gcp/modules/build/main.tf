# The Cloud Build trigger that tests, builds, pushes, migrates and deploys on every push to the
# main branch (deploy/gcp/cloudbuild.yaml), and its least-privilege service account.

# Dedicated build identity instead of the legacy Cloud Build default service account.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${substr(var.name, 0, 24)}-build"
  display_name = "todo-api Cloud Build (${var.name})"
  description  = "Builds, pushes and deploys todo-api: writes images, updates the service and the migrate job."
}

resource "google_artifact_registry_repository_iam_member" "build_writer" {
  project    = var.project_id
  location   = var.region
  repository = var.repository_id
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

# Deploy rights on exactly this service and this job, not the whole project.
resource "google_cloud_run_v2_service_iam_member" "build_developer" {
  project  = var.project_id
  location = var.region
  name     = var.service_name
  role     = "roles/run.developer"
  member   = "serviceAccount:${google_service_account.build.email}"
}

resource "google_cloud_run_v2_job_iam_member" "build_developer" {
  for_each = toset([var.job_name, var.purge_job_name])

  project  = var.project_id
  location = var.region
  name     = each.value
  role     = "roles/run.developer"
  member   = "serviceAccount:${google_service_account.build.email}"
}

# A deploy attaches the runtime service account to the new revision, a job update the jobs'
# account to the jobs: actAs on those two accounts only.
resource "google_service_account_iam_member" "build_act_as_runtime" {
  for_each = { runtime = var.runtime_service_account_id, jobs = var.jobs_service_account_id }

  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.build.email}"
}

# Build logs go to Cloud Logging only (cloudbuild.yaml: logging CLOUD_LOGGING_ONLY).
resource "google_project_iam_member" "build_log_writer" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.build.email}"
}

resource "google_cloudbuild_trigger" "deploy" {
  project         = var.project_id
  location        = var.trigger_location
  name            = "${var.name}-deploy"
  description     = "Test, build, push, migrate and deploy todo-api on push to ${var.branch_regex}"
  filename        = "deploy/gcp/cloudbuild.yaml"
  service_account = google_service_account.build.id
  ignored_files   = ["docs/**", "**/*.md", "deploy/aws/**"]

  github {
    owner = var.github_owner
    name  = var.github_repository
    push {
      branch = var.branch_regex
    }
  }

  substitutions = {
    _REGION      = var.region
    _REPOSITORY  = var.repository_id
    _IMAGE_NAME  = var.image_name
    _SERVICE     = var.service_name
    _MIGRATE_JOB = var.job_name
    _PURGE_JOB   = var.purge_job_name
  }

  approval_config {
    approval_required = var.require_approval
  }

  include_build_logs = "INCLUDE_BUILD_LOGS_WITH_STATUS"
}
