variable "project_id" {
  description = "Project that owns the Cloud SQL instances."
  type        = string
}

variable "name" {
  description = "Prefix of the instance names (e.g. todo-api-prod)."
  type        = string
}

variable "region" {
  description = "Region of the primary and the read replica (Tokyo)."
  type        = string
}

variable "tier" {
  description = "Machine type: db-f1-micro in dev; in prod the required db-n1-standard-2 shape (2 vCPU, 7.5 GB), which Cloud SQL for PostgreSQL offers as db-custom-2-7680."
  type        = string

  validation {
    condition     = can(regex("^db-(f1-micro|g1-small|custom-[0-9]+-[0-9]+)$", var.tier))
    error_message = "tier must be db-f1-micro, db-g1-small or a db-custom-<vCPU>-<MiB> tier (PostgreSQL on the Enterprise edition has no db-n1-* tiers)."
  }
}

variable "availability_type" {
  description = "REGIONAL (HA: a standby in another zone with synchronous replication and automatic failover) or ZONAL."
  type        = string

  validation {
    condition     = contains(["REGIONAL", "ZONAL"], var.availability_type)
    error_message = "availability_type must be REGIONAL or ZONAL."
  }
}

variable "deletion_protection" {
  description = "Protect the instances from deletion, both in Terraform and in the Cloud SQL API."
  type        = bool
}

variable "read_replica" {
  description = "Create a read replica (DATABASE_READ_URL) in the same region."
  type        = bool
}

variable "backup_retention_days" {
  description = "Number of daily automated backups kept (and days of transaction logs kept for point-in-time recovery)."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 7
    error_message = "backup_retention_days must be 1-7: point-in-time recovery keeps at most 7 days of transaction logs on the Enterprise edition."
  }
}

variable "backup_start_time" {
  description = "Start of the daily backup window, HH:MM in UTC (18:00 UTC is 03:00 JST)."
  type        = string
  default     = "18:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.backup_start_time))
    error_message = "backup_start_time must be HH:MM."
  }
}

variable "backup_location" {
  description = "Where backups are stored: a multi-region (asia) survives the loss of the Tokyo region."
  type        = string
  default     = "asia"
}

variable "disk_autoresize_limit" {
  description = "Upper bound in GB for automatic storage growth (0 = no limit)."
  type        = number
  default     = 100
}

variable "network_id" {
  description = "VPC whose private services access gives the instances their private IPs. Pass the network module's output that depends on the peering: an instance cannot take a private IP before the peering exists."
  type        = string
}

variable "allocated_ip_range" {
  description = "Name of the private services range the instances take their IPs from."
  type        = string
}

variable "kms_key_id" {
  description = "CMEK key (same region) that encrypts the instances' disks and backups."
  type        = string
}

variable "password_secret_id" {
  description = "Secret (full resource ID) that receives the application user's password (DATABASE_PASSWORD)."
  type        = string
}

variable "password_generation" {
  description = "Bump to rotate the application user's password (a new value is set on the user and added as a new secret version)."
  type        = number
  default     = 1

  validation {
    condition     = var.password_generation >= 1 && floor(var.password_generation) == var.password_generation
    error_message = "password_generation must be a positive integer."
  }
}

variable "database_name" {
  description = "Name of the application database."
  type        = string
  default     = "todo"
}

variable "user_name" {
  description = "Name of the application user (built-in password authentication)."
  type        = string
  default     = "todo"
}

variable "labels" {
  description = "Labels put on the instances."
  type        = map(string)
  default     = {}
}

variable "owner_user_name" {
  description = "Name of the owner user (migrations, audit purge, db-setup)."
  type        = string
  default     = "todo_owner"
}

variable "owner_password_secret_id" {
  description = "Secret (full resource ID) that receives the owner's password."
  type        = string
}

variable "owner_password_generation" {
  description = "Bump to rotate the owner's password."
  type        = number
  default     = 1
}

variable "server_ca_secret_id" {
  description = "Secret (full resource ID) that receives the instances' server CA certificates (PEM), mounted as sslrootcert."
  type        = string
}
