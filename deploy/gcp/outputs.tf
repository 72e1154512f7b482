output "load_balancer_ip" {
  description = "Global IP of the HTTPS load balancer: create the domain's DNS A record with it."
  value       = module.load_balancer.ip_address
}

output "cloud_run_url" {
  description = "run.app URL of the service (reachable only through the load balancer)."
  value       = module.cloud_run.service_uri
}

output "cloud_sql_connection_name" {
  description = "Cloud SQL connection name (project:region:instance)."
  value       = module.database.connection_name
}

output "api_url" {
  description = "Public URL of the API."
  value       = "https://${var.domain}"
}

output "artifact_registry_repository" {
  description = "Docker repository for the images."
  value       = module.registry.repository_url
}

output "migrate_job" {
  description = "Cloud Run job that runs `todo-api migrate`."
  value       = module.cloud_run.job_name
}

output "audit_purge_job" {
  description = "Cloud Run job that runs `todo-api audit purge` (daily, Cloud Scheduler)."
  value       = module.cloud_run.purge_job_name
}

output "db_setup_job" {
  description = "Cloud Run job that gives the service's database login DML rights only (run after the first apply and after a restore)."
  value       = module.cloud_run.db_setup_job_name
}

output "bootstrap_admin_token_secret" {
  description = "Secret with the first admin's API token (read once: docs/deploy-gcp.md, \"The first admin\")."
  value       = module.secrets.secret_ids["bootstrap_admin_token"]
}

output "database_dns_name" {
  description = "DNS name of the Cloud SQL primary (DATABASE_URL host; its certificate names it)."
  value       = module.database.dns_name
}

output "runtime_service_account" {
  description = "Service account of the Cloud Run service."
  value       = module.cloud_run.service_account_email
}

output "token_pepper_version" {
  description = "TOKEN_PEPPER version the service runs with (the previous_version of the next pepper rotation)."
  value       = module.secrets.token_pepper_version
}

output "database_read_replica" {
  description = "Name of the Cloud SQL read replica (null without one)."
  value       = module.database.replica_instance_name
}
