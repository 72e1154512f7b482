variable "name" {
  description = "Name prefix of every resource (todo-api-<environment>); at most 22 characters so target group names fit."
  type        = string

  validation {
    condition     = length(var.name) <= 22
    error_message = "Target group names are limited to 32 characters: keep name at 22 or fewer."
  }
}

variable "vpc_id" {
  description = "VPC of the target groups."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets of the ALB (two zones)."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the ALB."
  type        = string
}

variable "domain_name" {
  description = "Public name of the API (the ACM certificate's name), e.g. api.example.com."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name such as api.example.com."
  }
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone of domain_name. Set: the certificate is validated and the alias record created automatically. Empty: create the validation CNAME (output acm_validation_records) and the API's record in your DNS yourself."
  type        = string
  default     = ""
}

variable "app_port" {
  description = "Port of the application container (target group port)."
  type        = number
  default     = 8000
}

variable "health_check_path" {
  description = "Readiness path the ALB checks (answers 503 when the database does not)."
  type        = string
  default     = "/health-check"
}

variable "test_listener_port" {
  description = "Port of the CodeDeploy test listener (forwards to the replacement target group during a deployment)."
  type        = number
  default     = 8443
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listeners: TLS 1.3 with 1.2 as the floor."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"

  validation {
    condition     = can(regex("TLS13-1-2|TLS-1-2", var.ssl_policy))
    error_message = "Use a policy whose minimum is TLS 1.2 (ELBSecurityPolicy-TLS13-1-2-* or *-TLS-1-2-*)."
  }
}

variable "deregistration_delay" {
  description = "Seconds the ALB drains a target before ECS stops it (then SIGTERM, SHUTDOWN_TIMEOUT, stop timeout)."
  type        = number
  default     = 30
}

variable "deletion_protection" {
  description = "Protect the ALB against deletion (prod)."
  type        = bool
}

variable "web_acl_arn" {
  description = "WAF web ACL in front of the ALB."
  type        = string
}

variable "access_log_retention_days" {
  description = "Days the ALB access logs are kept in S3."
  type        = number
}
