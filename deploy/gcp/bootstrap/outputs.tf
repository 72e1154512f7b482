output "state_bucket" {
  description = "The state bucket: -backend-config=bucket=... of deploy/gcp."
  value       = google_storage_bucket.state.name
}

output "project_number" {
  description = "Project number (service agents' addresses)."
  value       = data.google_project.this.number
}
