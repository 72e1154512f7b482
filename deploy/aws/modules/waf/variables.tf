variable "name" {
  description = "Name prefix of every resource (todo-api-<environment>)."
  type        = string
}

variable "rate_limit" {
  description = "Requests one client IP may send in any 5-minute window before it is blocked."
  type        = number
  default     = 2000

  validation {
    condition     = var.rate_limit >= 100 && var.rate_limit <= 2000000000
    error_message = "WAF rate limits range from 100 to 2,000,000,000 per 5 minutes."
  }
}

variable "geo_allowed_country_codes" {
  description = "Geo restriction: ISO 3166 alpha-2 countries allowed to call the API; requests from elsewhere are blocked. Empty: no geo restriction."
  type        = list(string)
  default     = ["JP"]

  validation {
    condition     = alltrue([for c in var.geo_allowed_country_codes : can(regex("^[A-Z]{2}$", c))])
    error_message = "Use ISO 3166 alpha-2 codes in upper case, e.g. JP."
  }
}

variable "log_retention_days" {
  description = "Retention of the WAF log group."
  type        = number
}

variable "logs_kms_key_arn" {
  description = "KMS key that encrypts the WAF log group."
  type        = string
}
