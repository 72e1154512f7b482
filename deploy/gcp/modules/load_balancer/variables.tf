variable "project_id" {
  description = "Project that owns the load balancer."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name (e.g. todo-api-prod)."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Run service (the serverless NEG is regional)."
  type        = string
}

variable "service_name" {
  description = "Cloud Run service the serverless NEG points at."
  type        = string
}

variable "domain" {
  description = "Fully qualified domain name served; its DNS A record must point at the load balancer IP for the Google-managed certificate to become ACTIVE."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a lowercase fully qualified domain name, e.g. api.example.com."
  }
}

variable "geo_allowed_region_codes" {
  description = "Geo restriction: ISO 3166-1 alpha-2 codes of the countries allowed to call the API. /health-check stays open for the global uptime checkers."
  type        = list(string)

  validation {
    condition     = length(var.geo_allowed_region_codes) >= 1 && length(var.geo_allowed_region_codes) <= 4 && alltrue([for c in var.geo_allowed_region_codes : can(regex("^[A-Z]{2}$", c))])
    error_message = "Give 1-4 two-letter upper-case country codes (a Cloud Armor expression takes at most 5 subexpressions, and one is the /health-check exemption)."
  }
}

variable "rate_limit_per_minute" {
  description = "Requests per minute one client IP may send before Cloud Armor answers 429."
  type        = number
  default     = 600

  validation {
    condition     = var.rate_limit_per_minute >= 10
    error_message = "rate_limit_per_minute must be at least 10."
  }
}

variable "rate_limit_ban_seconds" {
  description = "How long an IP that keeps exceeding the limit is banned (rate-based ban)."
  type        = number
  default     = 600
}

variable "log_sample_rate" {
  description = "Fraction of requests logged by the backend service (1.0 = all)."
  type        = number
  default     = 1.0

  validation {
    condition     = var.log_sample_rate > 0 && var.log_sample_rate <= 1
    error_message = "log_sample_rate must be in (0, 1]."
  }
}
