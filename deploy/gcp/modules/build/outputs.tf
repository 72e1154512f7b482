output "trigger_id" {
  description = "ID of the Cloud Build trigger."
  value       = google_cloudbuild_trigger.deploy.trigger_id
}

output "build_service_account_email" {
  description = "Service account the builds run as."
  value       = google_service_account.build.email
}
