output "alb_dns_name" {
  description = "DNS name of the ALB (the API's record points here)."
  value       = module.alb.alb_dns_name
}

output "api_url" {
  description = "Public URL of the API."
  value       = "https://${var.domain_name}"
}

output "acm_validation_records" {
  description = "CNAME records that validate the certificate (create them when DNS is not in Route 53)."
  value       = module.alb.acm_validation_records
}

output "ecr_repository_url" {
  description = "Image repository."
  value       = module.ecr.repository_url
}

output "db_endpoint" {
  description = "PostgreSQL primary host name (port 5432)."
  value       = module.database.address
}

output "db_reader_endpoint" {
  description = "Read replica host name, or null without one."
  value       = module.database.replica_address
}

output "db_master_secret_arn" {
  description = "RDS-managed secret of the master user (migrate and db-setup tasks)."
  value       = module.database.master_secret_arn
}

output "log_group_name" {
  description = "Application log group."
  value       = module.ecs.log_group_name
}

output "ecs_cluster_name" {
  description = "ECS cluster."
  value       = module.ecs.cluster_name
}

output "ecs_service_name" {
  description = "ECS service."
  value       = module.ecs.service_name
}

output "migrate_task_definition_arn" {
  description = "One-off migrate task (run by the pipeline; by hand: docs/deploy-aws.md)."
  value       = module.ecs.migrate_task_definition_arn
}

output "db_setup_task_definition_arn" {
  description = "One-off task that creates the service's database login."
  value       = module.ecs.db_setup_task_definition_arn
}

output "run_task_network_configuration" {
  description = "--network-configuration for `aws ecs run-task` of the one-off tasks."
  value       = "awsvpcConfiguration={subnets=[${join(",", module.network.private_subnet_ids)}],securityGroups=[${module.network.ecs_security_group_id}],assignPublicIp=DISABLED}"
}

output "token_pepper_secret_arn" {
  description = "Secret holding TOKEN_PEPPER (rotation: docs/deploy-aws.md)."
  value       = module.ecs.token_pepper_secret_arn
}

output "db_app_secret_arn" {
  description = "Secret of the service's database login."
  value       = module.ecs.db_app_secret_arn
}

output "alarm_topic_arn" {
  description = "SNS topic of all alarms."
  value       = module.observability.alarm_topic_arn
}

output "pipeline_name" {
  description = "CodePipeline that deploys the service."
  value       = module.pipeline.pipeline_name
}

output "codestar_connection_arn" {
  description = "GitHub connection (complete the handshake in the console once)."
  value       = module.pipeline.codestar_connection_arn
}

output "private_subnet_ids" {
  description = "Private subnets (one-off tasks, restores)."
  value       = module.network.private_subnet_ids
}

output "ecs_security_group_id" {
  description = "Security group of the tasks (one-off tasks)."
  value       = module.network.ecs_security_group_id
}

output "db_security_group_id" {
  description = "Security group of the database (restored instances get it too)."
  value       = module.network.db_security_group_id
}

output "codedeploy_application" {
  description = "CodeDeploy application (redeploys by hand)."
  value       = module.pipeline.codedeploy_application
}

output "codedeploy_deployment_group" {
  description = "CodeDeploy deployment group (redeploys by hand)."
  value       = module.pipeline.codedeploy_deployment_group
}

output "bootstrap_admin_token_secret_arn" {
  description = "Secret with the first admin's API token (read once: docs/deploy-aws.md, \"The first admin\")."
  value       = module.ecs.bootstrap_admin_token_secret_arn
}

output "audit_purge_task_definition_arn" {
  description = "One-off audit-purge task (run daily by EventBridge Scheduler; by hand: docs/deploy-aws.md)."
  value       = module.ecs.purge_task_definition_arn
}

output "audit_purge_dlq_url" {
  description = "Dead-letter queue of failed audit-purge invocations."
  value       = module.ecs.audit_purge_dlq_url
}
