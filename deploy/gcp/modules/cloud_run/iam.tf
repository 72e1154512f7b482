# Dedicated runtime identity of the service and the migrate job (never the Compute Engine
# default account, which is an Editor of the project).
resource "google_service_account" "run" {
  project      = var.project_id
  account_id   = "${substr(var.name, 0, 22)}-run"
  display_name = "todo-api runtime (${var.name})"
  description  = "Runs the todo-api Cloud Run service and migrate job: reads its two secrets, writes traces and metrics."
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
