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

output "runtime_service_account" {
  description = "Service account of the Cloud Run service and job."
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
