# Inputs of the root. Values that differ between environments are set in dev.tfvars and
# prod.tfvars; the fixed numbers of the deployment requirements (CIDRs, task size, autoscaling 2-10, backups 7 days,
# alarm thresholds) are the modules' defaults.

variable "environment" {
  description = "Environment name: dev or prod."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment is dev or prod."
  }
}

variable "aws_region" {
  description = "Region of every resource (the deployment requirements: Tokyo)."
  type        = string
  default     = "ap-northeast-1"

  validation {
    condition     = var.aws_region == "ap-northeast-1"
    error_message = "The deployment requirements deploy to ap-northeast-1 (subnets in 1a and 1c)."
  }
}

variable "allowed_account_ids" {
  description = "AWS account(s) this environment may be applied to (a guard against applying one environment's settings to another's account). Empty: no guard."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.allowed_account_ids : can(regex("^[0-9]{12}$", a))])
    error_message = "Account IDs are 12 digits."
  }
}

# --- network -----------------------------------------------------------------------------

variable "nat_gateway_count" {
  description = "NAT gateways: 1 in dev (one shared gateway: cheaper, but egress depends on its zone), 2 in prod (one per zone)."
  type        = number
}

# --- edge --------------------------------------------------------------------------------

variable "domain_name" {
  description = "Public name of the API (ACM certificate), e.g. api.example.com."
  type        = string
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone of domain_name; empty when DNS is elsewhere (then create the validation and API records by hand)."
  type        = string
  default     = ""
}

variable "test_listener_cidr_blocks" {
  description = "Ranges allowed to reach the CodeDeploy test listener (8443) to check a deployment before traffic shifts. Empty: nobody."
  type        = list(string)
  default     = []
}

variable "waf_rate_limit" {
  description = "Requests per client IP per 5 minutes before WAF blocks it."
  type        = number
  default     = 2000
}

variable "waf_geo_allowed_country_codes" {
  description = "Countries allowed to call the API (WAF geo restriction); empty disables the restriction."
  type        = list(string)
  default     = ["JP"]
}

variable "access_log_retention_days" {
  description = "Days the ALB access logs stay in S3."
  type        = number
}

# --- application -------------------------------------------------------------------------

variable "image_tag" {
  description = "Tag of the image in Terraform's first task definition revision. The pipeline deploys the real images (tagged by commit); until its first run the tasks cannot pull this tag."
  type        = string
  default     = "bootstrap"
}

variable "rust_log" {
  description = "RUST_LOG of the service."
  type        = string
  default     = "info"
}

variable "signup" {
  description = "SIGNUP: true lets anyone who reaches the load balancer create an account with POST /users; false lets only admins create users (docs/deploy-aws.md, \"Access: sign-up, authorization, the first admin\")."
  type        = bool
}

variable "authz" {
  description = "AUTHZ: team (every user reads and changes every item, as the original app) or strict (users act on their own items; admins on everyone's)."
  type        = string

  validation {
    condition     = contains(["team", "strict"], var.authz)
    error_message = "authz is team or strict."
  }
}

variable "bootstrap_admin_email" {
  description = "E-mail of the first admin: while no admin exists, the migrate task makes this user an admin with the token Terraform generated (secret <name>/bootstrap-admin-token). Empty: no bootstrap."
  type        = string
  default     = ""
}

variable "audit_retention_days" {
  description = "AUDIT_RETENTION_DAYS: the daily audit-purge task deletes audit records older than this."
  type        = number
  default     = 365
}

variable "audit_purge_schedule" {
  description = "When the audit-purge task runs (EventBridge Scheduler expression, Asia/Tokyo)."
  type        = string
  default     = "cron(30 3 * * ? *)"
}

variable "db_max_connections_per_task" {
  description = "DATABASE_MAX_CONNECTIONS of each task: times 10 tasks (plus one-off tasks) must fit the instance's max_connections (about 80 on db.t3.micro)."
  type        = number
}

variable "token_pepper_rotating" {
  description = "Set true during a TOKEN_PEPPER rotation (injects TOKEN_PEPPER_PREVIOUS); see docs/deploy-aws.md."
  type        = bool
  default     = false
}

variable "db_app_password_version" {
  description = "Bump to generate a new password for the service's database user (then run db-setup and the pipeline)."
  type        = number
  default     = 1
}

# --- database ----------------------------------------------------------------------------

variable "db_instance_class" {
  description = "RDS instance class: db.t3.micro (dev), db.r5.large (prod)."
  type        = string
}

variable "db_multi_az" {
  description = "Multi-AZ primary (prod)."
  type        = bool
}

variable "db_read_replica" {
  description = "Read replica for DATABASE_READ_URL (prod)."
  type        = bool
}

variable "db_allocated_storage" {
  description = "Initial database storage in GiB."
  type        = number
}

variable "db_max_allocated_storage" {
  description = "Database storage autoscaling ceiling in GiB."
  type        = number
}

variable "deletion_protection" {
  description = "Protect the database (deletion protection, final snapshot) and the ALB against deletion; keep artifacts and images on destroy (prod)."
  type        = bool
}

# --- operations --------------------------------------------------------------------------

variable "log_retention_days" {
  description = "Retention of every CloudWatch Logs group (application, flow, WAF, RDS, builds)."
  type        = number

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "A CloudWatch Logs retention of at least one year (365, 400, 545, 731, ...)."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic; empty for none."
  type        = string
  default     = ""
}

# --- pipeline ----------------------------------------------------------------------------

variable "repository_id" {
  description = "GitHub repository (owner/name) the pipeline builds."
  type        = string
}

variable "branch" {
  description = "Branch the pipeline deploys."
  type        = string
  default     = "main"
}

variable "require_approval" {
  description = "Manual approval before migration and deployment (prod)."
  type        = bool
}

variable "deployment_config_name" {
  description = "CodeDeploy traffic shifting: all at once (dev), canary (prod)."
  type        = string
}

variable "termination_wait_minutes" {
  description = "Minutes the previous task set stays up after a successful deployment (instant rollback window)."
  type        = number
}
