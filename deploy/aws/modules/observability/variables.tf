variable "name" {
  description = "Name prefix of every resource (todo-api-<environment>)."
  type        = string
}

variable "aws_region" {
  description = "Region of the dashboard's metrics."
  type        = string
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic (confirm the e-mail AWS sends). Empty: subscribe your own endpoint (chat, paging) to the topic."
  type        = string
  default     = ""
}

variable "data_kms_key_arn" {
  description = "KMS key of the SNS topic."
  type        = string
}

variable "cluster_name" {
  description = "ECS cluster (dimension ClusterName)."
  type        = string
}

variable "service_name" {
  description = "ECS service (dimension ServiceName)."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ALB (dimension LoadBalancer)."
  type        = string
}

variable "target_group_arn_suffixes" {
  description = "Target groups by key (blue, green) (dimension TargetGroup)."
  type        = map(string)
}

variable "db_instance_identifier" {
  description = "Primary DB instance (dimension DBInstanceIdentifier)."
  type        = string
}

variable "db_replica_identifier" {
  description = "Replica DB instance, or null."
  type        = string
  default     = null
}

variable "db_log_group_name" {
  description = "PostgreSQL log group of the primary (connection errors are counted from it)."
  type        = string
}

variable "app_log_group_name" {
  description = "Application log group (/ecs/todo-api), for the dashboard's error query."
  type        = string
}

variable "cpu_alarm_threshold" {
  description = "ECS service CPU utilization (%) above which the alarm fires."
  type        = number
  default     = 80
}

variable "memory_alarm_threshold" {
  description = "ECS service memory utilization (%) above which the alarm fires."
  type        = number
  default     = 80
}

variable "http_5xx_rate_threshold" {
  description = "Share of requests (%) answered with a 5xx (by the targets or the ALB) above which the alarm fires."
  type        = number
  default     = 5
}

variable "db_connection_errors_threshold" {
  description = "PostgreSQL connection failures (authentication, no slots, rejected non-SSL) in 5 minutes at which the alarm fires. In a private subnet any is a misconfiguration."
  type        = number
  default     = 1
}

variable "latency_p99_threshold_seconds" {
  description = "p99 target response time (s) above which the latency alarm fires."
  type        = number
  default     = 1
}

variable "trace_sampling_rate" {
  description = "Share of requests traced beyond the first one per second (X-Ray fixed rate)."
  type        = number
  default     = 0.05

  validation {
    condition     = var.trace_sampling_rate >= 0 && var.trace_sampling_rate <= 1
    error_message = "A rate between 0 and 1."
  }
}
