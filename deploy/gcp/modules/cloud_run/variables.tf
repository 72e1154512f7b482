variable "project_id" {
  description = "Project that runs the service."
  type        = string
}

variable "name" {
  description = "Name of the service (e.g. todo-api-prod); the migrate job is <name>-migrate."
  type        = string
}

variable "region" {
  description = "Region of the service and the job (Tokyo)."
  type        = string
}

variable "image" {
  description = "Image of the first revision. Later revisions are deployed by Cloud Build (Terraform ignores image changes)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(:[0-9]+)?/.+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$", var.image))
    error_message = "image must be a full reference with a tag or digest, e.g. asia-northeast1-docker.pkg.dev/PROJECT/todo-api/todo-api:v1."
  }
}

variable "otel_collector_image" {
  description = "Google-built OpenTelemetry Collector image run as a sidecar (pinned version)."
  type        = string
  default     = "us-docker.pkg.dev/cloud-ops-agents-artifacts/google-cloud-opentelemetry-collector/otelcol-google:0.134.0"
}

variable "cpu" {
  description = "vCPU limit of the application container (required: 1)."
  type        = string

  validation {
    condition     = contains(["1", "2", "4", "6", "8"], var.cpu)
    error_message = "cpu must be 1, 2, 4, 6 or 8: concurrency above 1 needs at least one whole vCPU."
  }
}

variable "memory" {
  description = "Memory limit of the application container (required: 2Gi)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.memory))
    error_message = "memory must look like 512Mi or 2Gi."
  }
}

variable "concurrency" {
  description = "Maximum concurrent requests per instance (required: 100)."
  type        = number

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be 1-1000."
  }
}

variable "min_instances" {
  description = "Minimum instances kept warm (required: 1)."
  type        = number

  validation {
    condition     = var.min_instances >= 0
    error_message = "min_instances must be >= 0."
  }
}

variable "max_instances" {
  description = "Maximum instances (required: 10). Each holds up to DATABASE_MAX_CONNECTIONS connections: keep max x pool below the database's max_connections."
  type        = number

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 100 && var.max_instances >= var.min_instances
    error_message = "max_instances must be 1-100 and at least min_instances."
  }
}

variable "request_timeout_seconds" {
  description = "Cloud Run request timeout; above the app's own REQUEST_TIMEOUT (15 s) so the app answers first."
  type        = number
  default     = 30
}

variable "subnet_id" {
  description = "Subnet Cloud Run's Direct VPC egress takes addresses from (same region as the service)."
  type        = string
}

variable "egress_tag" {
  description = "Network tag on the Direct VPC egress traffic (the firewall allows it to reach PostgreSQL only)."
  type        = string
}

variable "kms_key_id" {
  description = "CMEK key that encrypts the deployed images and the service's data."
  type        = string
}

variable "database" {
  description = "Connection details: DNS names of the primary and (optional) replica (the names their server certificates carry), database, application and owner user names, the secrets + versions of both passwords, and of the server CA certificates."
  type = object({
    host                   = string
    replica_host           = optional(string)
    name                   = string
    user                   = string
    password_secret        = string
    password_version       = string
    owner_user             = string
    owner_password_secret  = string
    owner_password_version = string
    ca_secret              = string
    ca_version             = string
  })
}

variable "bootstrap_admin" {
  description = "The first admin: BOOTSTRAP_ADMIN_EMAIL (empty: no bootstrap) and the secret + version of its token (BOOTSTRAP_ADMIN_TOKEN), both for the migrate job only."
  type = object({
    email         = string
    token_secret  = string
    token_version = string
  })
}

variable "signup" {
  description = "SIGNUP: open sign-up through POST /users (false: only admins create users)."
  type        = bool
}

variable "authz" {
  description = "AUTHZ: team (the original shared board) or strict."
  type        = string

  validation {
    condition     = contains(["team", "strict"], var.authz)
    error_message = "authz is team or strict."
  }
}

variable "audit_retention_days" {
  description = "AUDIT_RETENTION_DAYS: the daily audit-purge job deletes audit records older than this."
  type        = number
  default     = 365
}

variable "audit_purge_schedule" {
  description = "Cloud Scheduler cron (Asia/Tokyo) of the audit-purge job."
  type        = string
  default     = "30 3 * * *"
}

variable "psql_image" {
  description = "Image with psql 15+ for the db-setup job."
  type        = string
  default     = "docker.io/library/postgres:15-alpine"
}

variable "token_pepper" {
  description = "The TOKEN_PEPPER secret, its current version, and during a rotation the previous version (TOKEN_PEPPER_PREVIOUS); null outside a rotation."
  type = object({
    secret           = string
    version          = string
    previous_version = optional(string)
  })
}

variable "rust_log" {
  description = "RUST_LOG filter of the service."
  type        = string
  default     = "info"
}

variable "database_max_connections" {
  description = "DATABASE_MAX_CONNECTIONS per instance (pool size)."
  type        = number
  default     = 10
}

variable "deletion_protection" {
  description = "Refuse to delete the service and the job from Terraform."
  type        = bool
}

variable "labels" {
  description = "Labels put on the service, job and revisions."
  type        = map(string)
  default     = {}
}
