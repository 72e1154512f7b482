output "logs_key_arn" {
  description = "ARN of the key that encrypts every CloudWatch Logs group."
  value       = aws_kms_key.logs.arn
}

output "data_key_arn" {
  description = "ARN of the key that encrypts data at rest (RDS, secrets, ECR, SNS, artifacts)."
  value       = aws_kms_key.data.arn
}
