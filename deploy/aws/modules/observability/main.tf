# Alarm topic (KMS-encrypted), X-Ray sampling rules and the database connection-error metric.
# Alarms are in alarms.tf, the dashboard in dashboard.tf.

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.data_kms_key_arn
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == "" ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# X-Ray sampling rules, used by clients that sample through X-Ray (the X-Ray SDKs, or the
# OpenTelemetry AWS X-Ray remote sampler). Probes are frequent and uninteresting: never traced.
# Everything else: the first request each second, then trace_sampling_rate of the rest.
resource "aws_xray_sampling_rule" "probes" {
  for_each = { health = "/health-check", livez = "/livez" }

  rule_name      = "${var.name}-${each.key}"
  priority       = 100
  version        = 1
  reservoir_size = 0
  fixed_rate     = 0
  url_path       = each.value
  host           = "*"
  http_method    = "GET"
  service_type   = "*"
  service_name   = "todo-api"
  resource_arn   = "*"
}

resource "aws_xray_sampling_rule" "api" {
  rule_name      = "${var.name}-api"
  priority       = 1000
  version        = 1
  reservoir_size = 1
  fixed_rate     = var.trace_sampling_rate
  url_path       = "*"
  host           = "*"
  http_method    = "*"
  service_type   = "*"
  service_name   = "todo-api"
  resource_arn   = "*"
}

# Failed connection attempts as PostgreSQL logs them (the log group RDS exports to).
resource "aws_cloudwatch_log_metric_filter" "db_connection_errors" {
  name           = "${var.name}-db-connection-errors"
  log_group_name = var.db_log_group_name
  pattern        = "?\"password authentication failed\" ?\"too many connections\" ?\"remaining connection slots are reserved\" ?\"no pg_hba.conf entry\" ?\"could not accept SSL connection\""

  metric_transformation {
    name          = "DatabaseConnectionErrors"
    namespace     = "TodoApi/${var.name}"
    value         = "1"
    default_value = "0"
    unit          = "Count"
  }
}
