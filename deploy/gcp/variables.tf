variable "project_id" {
  description = "Google Cloud project of this environment (one project per environment)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid project ID (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "environment" {
  description = "dev or prod: selects the database tier, HA, deletion protection, the read replica, log retention and build approval (locals.environments)."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "name" {
  description = "Application name; resources are named <name>-<environment>."
  type        = string
  default     = "todo-api"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}$", var.name))
    error_message = "name must be 2-15 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "domain" {
  description = "Domain the API is served on (Google-managed certificate, uptime check). Its A record must point at the load_balancer_ip output."
  type        = string
}

variable "image" {
  description = "Container image of the first deploy (<region>-docker.pkg.dev/<project>/todo-api/todo-api:<tag>). Cloud Build deploys later images; Terraform ignores the change."
  type        = string
}

variable "github_owner" {
  description = "GitHub owner of the repository Cloud Build builds from."
  type        = string
}

variable "github_repository" {
  description = "GitHub repository Cloud Build builds from."
  type        = string
}

variable "build_branch" {
  description = "Branch regex whose pushes deploy this environment."
  type        = string
  default     = "^main$"
}

variable "geo_allowed_region_codes" {
  description = "Cloud Armor geo restriction: the 1-4 country codes (ISO 3166-1 alpha-2) allowed to call the API."
  type        = list(string)
  default     = ["JP"]
}

variable "notification_channels" {
  description = "Existing Cloud Monitoring notification channel IDs for every alert."
  type        = list(string)
  default     = []
}

variable "alert_email" {
  description = "Optional e-mail address that receives every alert (creates a channel)."
  type        = string
  default     = null
}

variable "rust_log" {
  description = "RUST_LOG of the service."
  type        = string
  default     = "info"
}

variable "database_password_generation" {
  description = "Bump to rotate the Cloud SQL application user's password (docs/deploy-gcp.md)."
  type        = number
  default     = 1
}

variable "token_pepper_generation" {
  description = "Bump to create a new TOKEN_PEPPER version (a pepper rotation, docs/deploy-gcp.md)."
  type        = number
  default     = 1
}

variable "token_pepper_previous_version" {
  description = "During a pepper rotation: the previous TOKEN_PEPPER version number, served as TOKEN_PEPPER_PREVIOUS. null otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.token_pepper_previous_version == null || can(regex("^[0-9]+$", var.token_pepper_previous_version))
    error_message = "token_pepper_previous_version must be a version number such as \"1\", or null."
  }
}

variable "signup" {
  description = "SIGNUP: true lets anyone who reaches the load balancer create an account with POST /users; false lets only admins create users (docs/deploy-gcp.md, \"Access: sign-up, authorization, the first admin\")."
  type        = bool
}

variable "authz" {
  description = "AUTHZ: team (every user reads and changes every item, as the original app) or strict (users act on their own items; admins on everyone's)."
  type        = string

  validation {
    condition     = contains(["team", "strict"], var.authz)
    error_message = "authz must be team or strict."
  }
}

variable "bootstrap_admin_email" {
  description = "E-mail of the first admin: while no admin exists, the migrate job makes this user an admin with the token Terraform generated (secret <name>-<env>-bootstrap-admin-token). Empty: no bootstrap."
  type        = string
  default     = ""

  validation {
    condition     = var.bootstrap_admin_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.bootstrap_admin_email))
    error_message = "bootstrap_admin_email must be an e-mail address or empty."
  }
}

variable "audit_retention_days" {
  description = "AUDIT_RETENTION_DAYS: the daily audit-purge job deletes audit records older than this."
  type        = number
  default     = 365

  validation {
    condition     = var.audit_retention_days >= 1 && floor(var.audit_retention_days) == var.audit_retention_days
    error_message = "audit_retention_days must be a whole number of days, at least 1."
  }
}

variable "audit_purge_schedule" {
  description = "Cloud Scheduler cron (Asia/Tokyo) of the audit-purge job (default: daily 03:30, after the 03:00 backup)."
  type        = string
  default     = "30 3 * * *"
}
