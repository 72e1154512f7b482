variable "project_id" {
  description = "Project monitored."
  type        = string
}

variable "name" {
  description = "Prefix of metric and policy names (e.g. todo-api-prod)."
  type        = string
}

variable "service_name" {
  description = "Cloud Run service watched."
  type        = string
}

variable "sql_instance_name" {
  description = "Cloud SQL primary instance watched."
  type        = string
}

variable "domain" {
  description = "Public host name the uptime check calls (https://<domain>/health-check)."
  type        = string
}

variable "notification_channels" {
  description = "IDs of existing notification channels (projects/.../notificationChannels/...) every alert goes to."
  type        = list(string)
  default     = []
}

variable "alert_email" {
  description = "Optional e-mail address; when set an e-mail notification channel is created and added to every alert."
  type        = string
  default     = null

  validation {
    condition     = var.alert_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be an e-mail address or null."
  }
}

variable "error_rate_threshold" {
  description = "Alert when the share of 5xx responses exceeds this fraction (required: 5 %)."
  type        = number
  default     = 0.05

  validation {
    condition     = var.error_rate_threshold > 0 && var.error_rate_threshold < 1
    error_message = "error_rate_threshold is a fraction in (0, 1)."
  }
}

variable "latency_p95_threshold_ms" {
  description = "Alert when the 95th percentile request latency exceeds this many milliseconds (required: 1 s)."
  type        = number
  default     = 1000
}

variable "min_instances" {
  description = "Minimum instance count of the service; fewer running instances raise an alert."
  type        = number
}

variable "alert_duration_seconds" {
  description = "How long a condition must hold before an incident opens."
  type        = number
  default     = 300
}

variable "log_retention_days" {
  description = "Retention of the project's _Default log bucket (Cloud Run, load balancer, Cloud SQL and audit logs)."
  type        = number
  default     = 30

  validation {
    condition     = var.log_retention_days >= 1 && var.log_retention_days <= 3650
    error_message = "log_retention_days must be 1-3650."
  }
}
