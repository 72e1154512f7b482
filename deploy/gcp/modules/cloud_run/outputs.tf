output "service_name" {
  description = "Name of the Cloud Run service."
  value       = google_cloud_run_v2_service.app.name
}

output "service_id" {
  description = "ID of the Cloud Run service."
  value       = google_cloud_run_v2_service.app.id
}

output "service_uri" {
  description = "run.app URL of the service (answers only through the load balancer: ingress is internal-and-cloud-load-balancing)."
  value       = google_cloud_run_v2_service.app.uri
}

output "job_name" {
  description = "Name of the migrate job."
  value       = google_cloud_run_v2_job.migrate.name
}

output "purge_job_name" {
  description = "Name of the audit-purge job."
  value       = google_cloud_run_v2_job.purge.name
}

output "db_setup_job_name" {
  description = "Name of the db-setup job."
  value       = google_cloud_run_v2_job.db_setup.name
}

output "jobs_service_account_email" {
  description = "Service account of the migrate, audit-purge and db-setup jobs."
  value       = google_service_account.jobs.email
}

output "jobs_service_account_id" {
  description = "Resource ID of the jobs' service account (for serviceAccountUser grants)."
  value       = google_service_account.jobs.id
}

output "service_account_email" {
  description = "Runtime service account."
  value       = google_service_account.run.email
}

output "service_account_id" {
  description = "Resource ID of the runtime service account (for serviceAccountUser grants)."
  value       = google_service_account.run.id
}
