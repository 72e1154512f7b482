output "address" {
  description = "Host name of the primary (writer)."
  value       = aws_db_instance.primary.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.primary.port
}

output "replica_address" {
  description = "Host name of the read replica, or null without one."
  value       = var.read_replica ? aws_db_instance.replica[0].address : null
}

output "identifier" {
  description = "Identifier of the primary (CloudWatch dimension DBInstanceIdentifier, restores)."
  value       = aws_db_instance.primary.identifier
}

output "replica_identifier" {
  description = "Identifier of the replica, or null."
  value       = var.read_replica ? aws_db_instance.replica[0].identifier : null
}

output "database_name" {
  description = "Name of the application database."
  value       = aws_db_instance.primary.db_name
}

output "master_username" {
  description = "Master (owner) user name."
  value       = aws_db_instance.primary.username
}

output "master_secret_arn" {
  description = "Secrets Manager secret RDS manages for the master user (keys: username, password)."
  value       = aws_db_instance.primary.master_user_secret[0].secret_arn
}

output "postgresql_log_group_name" {
  description = "Log group of the primary's PostgreSQL log (connection errors are counted from it)."
  value       = aws_cloudwatch_log_group.postgresql["${var.name}/postgresql"].name
}
