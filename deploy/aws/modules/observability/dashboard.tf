# One dashboard with the four golden signals and the database: traffic and errors (ALB), latency,
# saturation (ECS CPU/memory, task count), database CPU/connections, and recent error logs.

locals {
  alb   = var.alb_arn_suffix
  ecs   = ["ClusterName", var.cluster_name, "ServiceName", var.service_name]
  db_id = var.db_instance_identifier

  widgets = [
    {
      title   = "Requests and 5xx (per minute)"
      metrics = [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", local.alb], [".", "HTTPCode_Target_5XX_Count", ".", "."], [".", "HTTPCode_ELB_5XX_Count", ".", "."]]
      stat    = "Sum"
    },
    {
      title   = "Target response time (s)"
      metrics = [["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", local.alb, { stat = "p50" }], ["...", { stat = "p99" }]]
      stat    = "p99"
    },
    {
      title   = "ECS CPU and memory (%)"
      metrics = [concat(["AWS/ECS", "CPUUtilization"], local.ecs), concat(["AWS/ECS", "MemoryUtilization"], local.ecs)]
      stat    = "Average"
    },
    {
      title   = "Running tasks"
      metrics = [concat(["ECS/ContainerInsights", "RunningTaskCount"], local.ecs)]
      stat    = "Average"
    },
    {
      title   = "Database CPU (%) and connections"
      metrics = [["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", local.db_id], [".", "DatabaseConnections", ".", ".", { yAxis = "right" }]]
      stat    = "Average"
    },
    {
      title   = "Database connection errors"
      metrics = [[aws_cloudwatch_log_metric_filter.db_connection_errors.metric_transformation[0].namespace, "DatabaseConnectionErrors"]]
      stat    = "Sum"
    },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = concat(
      [
        for i, w in local.widgets : {
          type   = "metric"
          x      = (i % 2) * 12
          y      = floor(i / 2) * 6
          width  = 12
          height = 6
          properties = {
            title   = w.title
            region  = var.aws_region
            metrics = w.metrics
            stat    = w.stat
            period  = 60
            view    = "timeSeries"
          }
        }
      ],
      [
        {
          type   = "log"
          x      = 0
          y      = ceil(length(local.widgets) / 2) * 6
          width  = 24
          height = 6
          properties = {
            title  = "Recent application errors"
            region = var.aws_region
            query  = "SOURCE '${var.app_log_group_name}' | fields @timestamp, @logStream, level, message | filter level = 'ERROR' | sort @timestamp desc | limit 50"
            view   = "table"
          }
        },
      ],
    )
  })
}
