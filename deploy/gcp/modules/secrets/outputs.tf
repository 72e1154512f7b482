output "secret_ids" {
  description = "Secret IDs (short names) by key: database_password, token_pepper, database_owner_password, bootstrap_admin_token, database_server_ca."
  value       = { for k, s in google_secret_manager_secret.secret : k => s.secret_id }
  # Cloud Run refuses a revision whose service account cannot read its secrets yet.
  depends_on = [google_secret_manager_secret_iam_member.accessor]
}

output "secret_resource_ids" {
  description = "Full secret resource IDs (projects/.../secrets/...) by key."
  value       = { for k, s in google_secret_manager_secret.secret : k => s.id }
}

output "token_pepper_version" {
  description = "Version number of the current TOKEN_PEPPER (pinned in the Cloud Run revision)."
  value       = google_secret_manager_secret_version.token_pepper.version
}

output "bootstrap_admin_token_version" {
  description = "Version of the bootstrap admin token (pinned in the migrate job)."
  value       = google_secret_manager_secret_version.bootstrap_admin_token.version
}
