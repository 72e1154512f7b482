# Dedicated identities (never the Compute Engine default account, which is an Editor of the
# project): `run` for the service (its secrets, traces, metrics), `jobs` for the migrate,
# audit-purge and db-setup jobs (the owner's secrets), `scheduler` to start the audit purge.
resource "google_service_account" "run" {
  project      = var.project_id
  account_id   = "${substr(var.name, 0, 22)}-run"
  display_name = "todo-api runtime (${var.name})"
  description  = "Runs the todo-api Cloud Run service: reads its secrets, writes traces and metrics."
}

# What the sidecar needs and nothing else. Secret access is granted per secret by the secrets
# module; Cloud SQL is reached over private IP with a password, so no cloudsql.client role.
resource "google_project_iam_member" "run" {
  for_each = toset([
    "roles/cloudtrace.agent",
    "roles/monitoring.metricWriter",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.run.email}"
}

resource "google_service_account" "jobs" {
  project      = var.project_id
  account_id   = "${substr(var.name, 0, 21)}-jobs"
  display_name = "todo-api jobs (${var.name})"
  description  = "Runs the todo-api migrate, audit-purge and db-setup Cloud Run jobs as the database owner: reads the owner's secrets."
}

resource "google_service_account" "scheduler" {
  project      = var.project_id
  account_id   = "${substr(var.name, 0, 18)}-schedule"
  display_name = "todo-api scheduler (${var.name})"
  description  = "Cloud Scheduler: starts the todo-api audit-purge job, nothing else."
}

# run.jobs.run on the purge job only.
resource "google_cloud_run_v2_job_iam_member" "scheduler_runs_purge" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.purge.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}
