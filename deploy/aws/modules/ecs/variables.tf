variable "name" {
  description = "Name prefix of every resource (todo-api-<environment>)."
  type        = string
}

variable "aws_region" {
  description = "Region (awslogs, ADOT exporters)."
  type        = string
}

variable "container_name" {
  description = "Name of the application container (the appspec's ContainerName)."
  type        = string
  default     = "todo-api"
}

variable "image" {
  description = "Image of the first task definition revision (<repository_url>:<tag>); later revisions come from the pipeline."
  type        = string
}

variable "adot_image" {
  description = "AWS Distro for OpenTelemetry collector image (sidecar), pinned by tag."
  type        = string
  default     = "public.ecr.aws/aws-observability/aws-otel-collector:v0.47.0"
}

variable "psql_image" {
  description = "Image with psql 15+ for the one-off db-setup task (\\getenv needs psql 15)."
  type        = string
  default     = "public.ecr.aws/docker/library/postgres:15-alpine"
}

variable "ecr_repository_arn" {
  description = "Repository the execution role may pull from."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the tasks."
  type        = string
}

variable "target_group_arn" {
  description = "Target group the service starts in (blue); CodeDeploy alternates it afterwards."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ALB (CloudWatch dimension) whose request count drives the request-based scaling policy."
  type        = string
}

variable "db_address" {
  description = "Host name of the PostgreSQL primary."
  type        = string
}

variable "db_replica_address" {
  description = "Host name of the read replica (DATABASE_READ_URL), or null."
  type        = string
  default     = null
}

variable "db_port" {
  description = "PostgreSQL port."
  type        = number
  default     = 5432
}

variable "db_name" {
  description = "Application database name."
  type        = string
}

variable "db_master_username" {
  description = "Master (owner) user: the migrate and db-setup tasks connect as it."
  type        = string
}

variable "db_master_secret_arn" {
  description = "RDS-managed secret of the master user (keys username, password)."
  type        = string
}

variable "db_app_username" {
  description = "Login role the service connects as (created by the db-setup task; DML only)."
  type        = string
  default     = "todo_app"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.db_app_username))
    error_message = "A lower-case PostgreSQL identifier."
  }
}

variable "db_app_password_version" {
  description = "Bump to generate a new password for the app user (then run db-setup and redeploy: see docs/deploy-aws.md)."
  type        = number
  default     = 1
}

variable "db_max_connections" {
  description = "DATABASE_MAX_CONNECTIONS per task; times max_capacity (plus the one-off tasks) must stay under the instance's max_connections."
  type        = number

  validation {
    condition     = var.db_max_connections >= 1 && var.db_max_connections <= 100
    error_message = "Between 1 and 100 connections per task."
  }
}

variable "rust_log" {
  description = "RUST_LOG filter of the service."
  type        = string
  default     = "info"
}

variable "signup" {
  description = "SIGNUP: open sign-up through POST /users."
  type        = bool
  default     = true
}

variable "authz" {
  description = "AUTHZ: team (the original shared board) or strict."
  type        = string
  default     = "team"

  validation {
    condition     = contains(["team", "strict"], var.authz)
    error_message = "authz is team or strict."
  }
}

variable "token_pepper_rotating" {
  description = "During a TOKEN_PEPPER rotation: also inject TOKEN_PEPPER_PREVIOUS (the pepper secret's 'previous' key)."
  type        = bool
  default     = false
}

variable "desired_count" {
  description = "Tasks at creation (autoscaling owns the count afterwards)."
  type        = number
  default     = 2
}

variable "min_capacity" {
  description = "Autoscaling floor (one task per zone at least)."
  type        = number
  default     = 2

  validation {
    condition     = var.min_capacity >= 2
    error_message = "At least 2 tasks, one per availability zone."
  }
}

variable "max_capacity" {
  description = "Autoscaling ceiling."
  type        = number
  default     = 10

  validation {
    condition     = var.max_capacity >= var.min_capacity
    error_message = "max_capacity must be at least min_capacity."
  }
}

variable "cpu_target_percent" {
  description = "Average service CPU the scaling policy keeps (below the 80 % alarm, so the alarm means scaling is not keeping up)."
  type        = number
  default     = 70

  validation {
    condition     = var.cpu_target_percent > 10 && var.cpu_target_percent < 80
    error_message = "Between 10 and 80 (the CPU alarm threshold)."
  }
}

variable "requests_per_task_target" {
  description = "ALB requests per task per minute the request-based scaling policy keeps."
  type        = number
  default     = 3000
}

variable "health_check_grace_period" {
  description = "Seconds ECS ignores ALB health checks of a new task (start-up and pool warm-up)."
  type        = number
  default     = 60

  validation {
    condition     = var.health_check_grace_period >= 30 && var.health_check_grace_period <= 300
    error_message = "Between 30 and 300 seconds."
  }
}

variable "data_kms_key_arn" {
  description = "KMS key of the secrets (execution roles decrypt with it)."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key of the log groups."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the application, metrics and exec log groups."
  type        = number
}

variable "bootstrap_admin_email" {
  description = "BOOTSTRAP_ADMIN_EMAIL of the migrate task: while no admin exists, migrate makes this user (created if missing) an admin with the token of the bootstrap-admin-token secret. Empty: no bootstrap."
  type        = string
  default     = ""

  validation {
    condition     = var.bootstrap_admin_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.bootstrap_admin_email))
    error_message = "bootstrap_admin_email is an e-mail address or empty."
  }
}

variable "audit_retention_days" {
  description = "AUDIT_RETENTION_DAYS: audit records older than this are deleted by the daily audit-purge task."
  type        = number
  default     = 365

  validation {
    condition     = var.audit_retention_days >= 1 && floor(var.audit_retention_days) == var.audit_retention_days
    error_message = "audit_retention_days is a whole number of days, at least 1."
  }
}

variable "audit_purge_schedule" {
  description = "EventBridge Scheduler expression of the audit-purge task (default: daily at 03:30 Asia/Tokyo, after the 02:00 backup)."
  type        = string
  default     = "cron(30 3 * * ? *)"

  validation {
    condition     = can(regex("^(cron|rate)\\(.+\\)$", var.audit_purge_schedule))
    error_message = "A cron(...) or rate(...) expression."
  }
}

variable "audit_purge_schedule_timezone" {
  description = "Time zone of audit_purge_schedule."
  type        = string
  default     = "Asia/Tokyo"
}
