output "uptime_check_id" {
  description = "ID of the /health-check uptime check."
  value       = google_monitoring_uptime_check_config.health.uptime_check_id
}

output "alert_policy_ids" {
  description = "Alert policy IDs by purpose."
  value = {
    error_rate      = google_monitoring_alert_policy.error_rate.id
    latency         = google_monitoring_alert_policy.latency.id
    sql_connections = google_monitoring_alert_policy.sql_connections.id
    instances       = google_monitoring_alert_policy.instances.id
    uptime          = google_monitoring_alert_policy.uptime.id
  }
}

output "http_5xx_metric" {
  description = "Type of the log-based 5xx metric."
  value       = "logging.googleapis.com/user/${google_logging_metric.http_5xx.name}"
}
