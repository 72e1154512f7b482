output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies (subscribe on-call endpoints to it)."
  value       = aws_sns_topic.alarms.arn
}

output "deployment_alarm_names" {
  description = "Alarms CodeDeploy watches during a deployment (rollback when one fires)."
  value       = concat([aws_cloudwatch_metric_alarm.http_5xx_rate.alarm_name], [for a in aws_cloudwatch_metric_alarm.unhealthy_targets : a.alarm_name])
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}
