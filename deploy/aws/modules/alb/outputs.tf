output "alb_arn" {
  description = "ARN of the ALB (WAF association)."
  value       = aws_lb.this.arn
}

output "alb_arn_suffix" {
  description = "ARN suffix of the ALB (CloudWatch dimension LoadBalancer)."
  value       = aws_lb.this.arn_suffix
}

output "alb_dns_name" {
  description = "DNS name of the ALB (point the API's record at it when Route 53 is not used)."
  value       = aws_lb.this.dns_name
}

output "https_listener_arn" {
  description = "Production listener (443)."
  value       = aws_lb_listener.https.arn
}

output "test_listener_arn" {
  description = "CodeDeploy test listener."
  value       = aws_lb_listener.test.arn
}

output "target_group_arns" {
  description = "Target group ARNs by name (blue, green)."
  value       = { for k, tg in aws_lb_target_group.this : k => tg.arn }
  # ECS refuses a service whose target group no listener uses yet: whoever reads these ARNs
  # (the ECS service) waits for the listeners.
  depends_on = [aws_lb_listener.https, aws_lb_listener.test]
}

output "target_group_names" {
  description = "Target group names by key (blue, green), for the CodeDeploy deployment group."
  value       = { for k, tg in aws_lb_target_group.this : k => tg.name }
}

output "target_group_arn_suffixes" {
  description = "Target group ARN suffixes by key (CloudWatch dimension TargetGroup)."
  value       = { for k, tg in aws_lb_target_group.this : k => tg.arn_suffix }
}

output "acm_validation_records" {
  description = "DNS records that validate the certificate (create them when route53_zone_id is empty)."
  value       = local.validation_records
}
