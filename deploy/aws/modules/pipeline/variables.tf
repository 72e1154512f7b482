variable "name" {
  description = "Name prefix of every resource (todo-api-<environment>)."
  type        = string
}

variable "aws_region" {
  description = "Region of the ECS and CodeDeploy resources (ARNs in IAM policies)."
  type        = string
}

variable "repository_id" {
  description = "GitHub repository the pipeline builds, as owner/name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.repository_id))
    error_message = "repository_id is owner/name."
  }
}

variable "branch" {
  description = "Branch whose pushes are built and deployed."
  type        = string
  default     = "main"
}

variable "require_approval" {
  description = "Add a manual approval before the migration and deployment (prod)."
  type        = bool
}

variable "deployment_config_name" {
  description = "CodeDeploy ECS traffic shift: CodeDeployDefault.ECSAllAtOnce, ECSCanary10Percent5Minutes, ECSLinear10PercentEvery1Minutes, ..."
  type        = string

  validation {
    condition     = startswith(var.deployment_config_name, "CodeDeployDefault.ECS")
    error_message = "Use one of the CodeDeployDefault.ECS* configurations."
  }
}

variable "termination_wait_minutes" {
  description = "Minutes the previous (blue) task set keeps running after a successful deployment: the window for an instant manual rollback."
  type        = number

  validation {
    condition     = var.termination_wait_minutes >= 0 && var.termination_wait_minutes <= 2880
    error_message = "CodeDeploy accepts 0 to 2880 minutes."
  }
}

variable "rust_build_image" {
  description = "Rust toolchain image the build runs the tests in (same toolchain as the Dockerfile's build stage)."
  type        = string
  default     = "public.ecr.aws/docker/library/rust:1.95-bookworm"
}

variable "ecr_repository_url" {
  description = "Repository the build pushes to."
  type        = string
}

variable "ecr_repository_arn" {
  description = "ARN of that repository (push permission)."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster of the service and the migrate task."
  type        = string
}

variable "service_name" {
  description = "ECS service CodeDeploy deploys to."
  type        = string
}

variable "container_name" {
  description = "Application container name (image swap, appspec)."
  type        = string
}

variable "task_definition_arn" {
  description = "Service task definition revision Terraform registered: taskdef.json is derived from it."
  type        = string
}

variable "migrate_task_definition_arn" {
  description = "Migrate task definition revision Terraform registered: the migrate step derives its revision from it."
  type        = string
}

variable "migrate_task_family" {
  description = "Family of the migrate task definitions (RunTask permission)."
  type        = string
}

variable "purge_task_definition_arn" {
  description = "Audit-purge task definition revision Terraform registered: after a migration, a revision with the new image is derived from it."
  type        = string
}

variable "pass_role_arns" {
  description = "Task roles the deploy steps pass to ECS: app_execution, app_task, migrate_execution, purge_execution."
  type        = map(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the migrate task."
  type        = list(string)
}

variable "ecs_security_group_id" {
  description = "Security group of the migrate task (reaches the database)."
  type        = string
}

variable "https_listener_arn" {
  description = "Production listener CodeDeploy switches."
  type        = string
}

variable "test_listener_arn" {
  description = "Test listener CodeDeploy points at the replacement tasks."
  type        = string
}

variable "target_group_names" {
  description = "The blue and green target groups."
  type        = map(string)
}

variable "deployment_alarm_names" {
  description = "Alarms that stop and roll back a deployment."
  type        = list(string)
}

variable "data_kms_key_arn" {
  description = "KMS key of the artifacts and build outputs."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key of the build log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the build logs."
  type        = number
}

variable "force_destroy_artifacts" {
  description = "Allow deleting the artifact bucket with objects in it (dev)."
  type        = bool
  default     = false
}
