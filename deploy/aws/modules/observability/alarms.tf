# The deployment requirements' alarms (CPU > 80 %, memory > 80 %, database connection errors, HTTP 5xx rate) plus
# unhealthy targets, latency and database health. All notify the SNS topic when they fire and
# when they recover. CodeDeploy watches the 5xx and unhealthy-target alarms during a deployment
# and rolls back when one fires.

locals {
  actions = [aws_sns_topic.alarms.arn]
  ecs_dimensions = {
    ClusterName = var.cluster_name
    ServiceName = var.service_name
  }
}

resource "aws_cloudwatch_metric_alarm" "ecs_cpu_high" {
  alarm_name          = "${var.name}-ecs-cpu-high"
  alarm_description   = "Service CPU above ${var.cpu_alarm_threshold} % for 5 minutes: scaling is not keeping up or is at its maximum."
  namespace           = "AWS/ECS"
  metric_name         = "CPUUtilization"
  dimensions          = local.ecs_dimensions
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.cpu_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "ecs_memory_high" {
  alarm_name          = "${var.name}-ecs-memory-high"
  alarm_description   = "Service memory above ${var.memory_alarm_threshold} % for 5 minutes (a leak or an undersized task)."
  namespace           = "AWS/ECS"
  metric_name         = "MemoryUtilization"
  dimensions          = local.ecs_dimensions
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.memory_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "http_5xx_rate" {
  alarm_name          = "${var.name}-http-5xx-rate"
  alarm_description   = "More than ${var.http_5xx_rate_threshold} % of requests answered with a 5xx (targets or ALB) in 3 of 5 minutes."
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.http_5xx_rate_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching" # no traffic is not an error
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "rate"
    label       = "5xx share of requests (%)"
    expression  = "IF(requests > 0, 100 * (FILL(target_5xx, 0) + FILL(elb_5xx, 0)) / requests, 0)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = {
      requests   = "RequestCount"
      target_5xx = "HTTPCode_Target_5XX_Count"
      elb_5xx    = "HTTPCode_ELB_5XX_Count"
    }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/ApplicationELB"
        metric_name = metric_query.value
        dimensions  = { LoadBalancer = var.alb_arn_suffix }
        stat        = "Sum"
        period      = 60
      }
    }
  }
}

# One per target group: during a blue/green deployment the replacement group is the one to watch.
resource "aws_cloudwatch_metric_alarm" "unhealthy_targets" {
  for_each = var.target_group_arn_suffixes

  alarm_name          = "${var.name}-unhealthy-targets-${each.key}"
  alarm_description   = "Tasks of the ${each.key} target group failing /health-check for 2 minutes (the app, or the database behind it)."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = { LoadBalancer = var.alb_arn_suffix, TargetGroup = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "latency_p99" {
  alarm_name          = "${var.name}-latency-p99"
  alarm_description   = "p99 response time of the tasks above ${var.latency_p99_threshold_seconds} s in 3 of 5 minutes."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = { LoadBalancer = var.alb_arn_suffix }
  extended_statistic  = "p99"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.latency_p99_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "db_connection_errors" {
  alarm_name          = "${var.name}-db-connection-errors"
  alarm_description   = "PostgreSQL refused connections (bad password after a secret change, no free slots, non-SSL) in the last 5 minutes."
  namespace           = aws_cloudwatch_log_metric_filter.db_connection_errors.metric_transformation[0].namespace
  metric_name         = aws_cloudwatch_log_metric_filter.db_connection_errors.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.db_connection_errors_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "db_cpu_high" {
  alarm_name          = "${var.name}-db-cpu-high"
  alarm_description   = "Database CPU above ${var.cpu_alarm_threshold} % for 10 minutes (Performance Insights shows the queries)."
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBInstanceIdentifier = var.db_instance_identifier }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.cpu_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "db_free_storage_low" {
  alarm_name          = "${var.name}-db-free-storage-low"
  alarm_description   = "Less than 2 GiB of database storage left (storage autoscaling at its ceiling?)."
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = { DBInstanceIdentifier = var.db_instance_identifier }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 2 * 1024 * 1024 * 1024
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

resource "aws_cloudwatch_metric_alarm" "db_replica_lag" {
  count = var.db_replica_identifier == null ? 0 : 1

  alarm_name          = "${var.name}-db-replica-lag"
  alarm_description   = "Read replica more than 30 s behind for 5 minutes: reads through DATABASE_READ_URL are stale."
  namespace           = "AWS/RDS"
  metric_name         = "ReplicaLag"
  dimensions          = { DBInstanceIdentifier = var.db_replica_identifier }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = 30
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}
