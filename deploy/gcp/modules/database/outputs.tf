output "connection_name" {
  description = "Cloud SQL connection name (project:region:instance)."
  value       = google_sql_database_instance.primary.connection_name
}

output "instance_name" {
  description = "Name of the primary instance."
  value       = google_sql_database_instance.primary.name
}

output "private_ip" {
  description = "Private IP of the primary (DATABASE_URL host)."
  value       = google_sql_database_instance.primary.private_ip_address
}

output "replica_private_ip" {
  description = "Private IP of the read replica (DATABASE_READ_URL host), or null without a replica."
  value       = one(google_sql_database_instance.replica[*].private_ip_address)
}

output "replica_instance_name" {
  description = "Name of the read replica, or null."
  value       = one(google_sql_database_instance.replica[*].name)
}

output "database_name" {
  description = "Name of the application database."
  value       = google_sql_database.app.name
}

output "user_name" {
  description = "Name of the application user."
  value       = google_sql_user.app.name
}

output "password_secret_version" {
  description = "Version number of DATABASE_PASSWORD that matches the user's current password (pinned in the Cloud Run revision)."
  value       = google_secret_manager_secret_version.password.version
}

output "dns_name" {
  description = "DNS name of the primary (in its server certificate; resolved by the private zone): the host the clients dial."
  value       = trimsuffix(google_sql_database_instance.primary.dns_name, ".")
  depends_on  = [google_dns_record_set.sql]
}

output "replica_dns_name" {
  description = "DNS name of the read replica, or null."
  value       = var.read_replica ? trimsuffix(google_sql_database_instance.replica[0].dns_name, ".") : null
  depends_on  = [google_dns_record_set.sql]
}

output "owner_user_name" {
  description = "Name of the owner user."
  value       = google_sql_user.owner.name
}

output "owner_password_secret_version" {
  description = "Version of the owner password secret that matches the user's password."
  value       = google_secret_manager_secret_version.owner_password.version
}

output "server_ca_secret_version" {
  description = "Version of the server CA secret (pinned in the service and the jobs)."
  value       = google_secret_manager_secret_version.server_ca.version
}
