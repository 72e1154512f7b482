# The required alerting: error rate > 5 %, latency > 1 s (p95), Cloud SQL connection failures,
# instance count below the minimum; plus an uptime check on /health-check, a log-based metric
# for 5xx responses, and log retention.

locals {
  channels = concat(
    var.notification_channels,
    google_monitoring_notification_channel.email[*].id,
  )
  run_filter = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${var.service_name}\""
  runbook    = "Runbook: docs/deploy-gcp.md, section \"Alert response\"."
}

resource "google_monitoring_notification_channel" "email" {
  count = var.alert_email == null ? 0 : 1

  project      = var.project_id
  display_name = "${var.name} on-call e-mail"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
}

# Log-based metric: every 5xx the service answered, labelled by status (the request logs Cloud
# Run writes for each request, independent of the app's own logs).
resource "google_logging_metric" "http_5xx" {
  project     = var.project_id
  name        = "${var.name}-http-5xx"
  description = "5xx responses of the todo-api Cloud Run service"
  filter      = <<-EOT
    ${local.run_filter}
    logName = "projects/${var.project_id}/logs/run.googleapis.com%2Frequests"
    httpRequest.status >= 500
  EOT

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "status"
      value_type  = "STRING"
      description = "HTTP status code"
    }
  }

  label_extractors = {
    status = "EXTRACT(httpRequest.status)"
  }
}

# Log-based metric: connections PostgreSQL refused (bad password after a rotation, no free
# connection slot, TLS or pg_hba refusal).
resource "google_logging_metric" "sql_connection_errors" {
  project     = var.project_id
  name        = "${var.name}-sql-connection-errors"
  description = "Connection attempts refused by the todo-api Cloud SQL instance"
  filter      = <<-EOT
    resource.type = "cloudsql_database"
    resource.labels.database_id = "${var.project_id}:${var.sql_instance_name}"
    (textPayload:"password authentication failed" OR textPayload:"too many connections" OR textPayload:"remaining connection slots are reserved" OR textPayload:"no pg_hba.conf entry" OR textPayload:"SSL off")
  EOT

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_monitoring_uptime_check_config" "health" {
  project      = var.project_id
  display_name = "${var.name} /health-check"
  timeout      = "10s"
  period       = "60s"
  # At least three checker regions; /health-check is exempt from the geo restriction.
  selected_regions = ["ASIA_PACIFIC", "USA_OREGON", "EUROPE"]

  http_check {
    path           = "/health-check"
    port           = 443
    use_ssl        = true
    validate_ssl   = true
    request_method = "GET"

    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }
  }

  content_matchers {
    content = "\"status\":\"ok\""
    matcher = "CONTAINS_STRING"
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = var.domain
    }
  }
}

resource "google_logging_project_bucket_config" "default" {
  project        = var.project_id
  location       = "global"
  bucket_id      = "_Default"
  retention_days = var.log_retention_days
}

# Data Access audit logs of Secret Manager: who read DATABASE_PASSWORD or TOKEN_PEPPER, when.
# (Admin Activity audit logs are always on.)
resource "google_project_iam_audit_config" "secretmanager" {
  project = var.project_id
  service = "secretmanager.googleapis.com"

  audit_log_config {
    log_type = "DATA_READ"
  }
  audit_log_config {
    log_type = "ADMIN_READ"
  }
}
