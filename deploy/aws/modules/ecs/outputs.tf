output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.app.name
}

output "container_name" {
  description = "Name of the application container (appspec ContainerName, pipeline image swap)."
  value       = var.container_name
}

output "task_definition_arn" {
  description = "Service task definition revision Terraform registered (the pipeline's template)."
  value       = aws_ecs_task_definition.app.arn
}

output "migrate_task_definition_arn" {
  description = "Migrate task definition revision Terraform registered (the pipeline's template)."
  value       = aws_ecs_task_definition.migrate.arn
}

output "migrate_task_family" {
  description = "Family of the migrate task definitions (RunTask permission of the pipeline)."
  value       = aws_ecs_task_definition.migrate.family
}

output "db_setup_task_definition_arn" {
  description = "One-off task that creates the service's database login."
  value       = aws_ecs_task_definition.db_setup.arn
}

output "pass_role_arns" {
  description = "Roles the deploy steps hand to ECS (iam:PassRole): by task family key."
  value = {
    app_execution     = aws_iam_role.execution["app"].arn
    app_task          = aws_iam_role.app_task.arn
    migrate_execution = aws_iam_role.execution["migrate"].arn
    purge_execution   = aws_iam_role.execution["audit-purge"].arn
  }
}

output "log_group_name" {
  description = "Application log group (/ecs/todo-api)."
  value       = aws_cloudwatch_log_group.app.name
}

output "log_group_arn" {
  description = "ARN of the application log group."
  value       = aws_cloudwatch_log_group.app.arn
}

output "db_app_secret_arn" {
  description = "Secret of the service's database login."
  value       = aws_secretsmanager_secret.db_app.arn
}

output "token_pepper_secret_arn" {
  description = "Secret holding TOKEN_PEPPER (keys current, previous)."
  value       = aws_secretsmanager_secret.token_pepper.arn
}

output "bootstrap_admin_token_secret_arn" {
  description = "Secret holding the first admin's API token (read it once: docs/deploy-aws.md)."
  value       = aws_secretsmanager_secret.bootstrap_admin_token.arn
}

output "purge_task_definition_arn" {
  description = "Audit-purge task definition revision Terraform registered (the pipeline derives new revisions from it)."
  value       = aws_ecs_task_definition.purge.arn
}

output "purge_task_family" {
  description = "Family of the audit-purge task definitions (RunTask permission of the pipeline)."
  value       = aws_ecs_task_definition.purge.family
}

output "audit_purge_schedule_name" {
  description = "EventBridge Scheduler schedule that runs the audit purge."
  value       = aws_scheduler_schedule.audit_purge.name
}

output "audit_purge_dlq_url" {
  description = "Dead-letter queue of the audit-purge schedule (failed invocations)."
  value       = aws_sqs_queue.audit_purge_dlq.url
}
