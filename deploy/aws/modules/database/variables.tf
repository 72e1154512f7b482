variable "name" {
  description = "Identifier prefix of the instances (todo-api-<environment>)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets of the DB subnet group (two zones)."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the database (5432 from the tasks only)."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL major version (minor versions are applied automatically in the maintenance window)."
  type        = string
  default     = "15"

  validation {
    condition     = can(regex("^15(\\.[0-9]+)?$", var.engine_version))
    error_message = "The deployment requirements fix PostgreSQL 15."
  }
}

variable "instance_class" {
  description = "Instance class: db.t3.micro (dev), db.r5.large (prod)."
  type        = string

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "An RDS instance class, e.g. db.t3.micro."
  }
}

variable "multi_az" {
  description = "Synchronous standby in the other zone with automatic failover (prod)."
  type        = bool
}

variable "read_replica" {
  description = "Create an asynchronous read replica (prod); the tasks get its URL as DATABASE_READ_URL."
  type        = bool
}

variable "allocated_storage" {
  description = "Initial storage in GiB (gp3)."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20
    error_message = "gp3 storage for PostgreSQL starts at 20 GiB."
  }
}

variable "max_allocated_storage" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 100
}

variable "backup_retention_days" {
  description = "Days of automated backups (daily snapshot plus transaction logs every 5 minutes: point-in-time restore within this window)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "The deployment requirements keep at least 7 days of backups; RDS allows at most 35."
  }
}

variable "deletion_protection" {
  description = "Deletion protection, and a final snapshot when the instance is deleted anyway (prod)."
  type        = bool
}

variable "iam_database_authentication" {
  description = "Allow IAM database authentication in addition to passwords (for operators' short-lived tokens)."
  type        = bool
  default     = true
}

variable "database_name" {
  description = "Name of the application database."
  type        = string
  default     = "todo"
}

variable "master_username" {
  description = "Master (owner) user: runs migrations and the db-setup task; the service uses a separate, less privileged user."
  type        = string
  default     = "todo_owner"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.master_username)) && !contains(["admin", "postgres", "rdsadmin"], var.master_username)
    error_message = "A lower-case PostgreSQL identifier that RDS does not reserve."
  }
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the master secret."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key for the exported PostgreSQL log groups."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the exported PostgreSQL logs."
  type        = number
}
