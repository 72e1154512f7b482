output "state_bucket" {
  description = "The state bucket: -backend-config=bucket=... of deploy/aws."
  value       = aws_s3_bucket.state.bucket
}

output "state_kms_key_arn" {
  description = "KMS key of the state objects: -backend-config=kms_key_id=... of deploy/aws."
  value       = aws_kms_key.state.arn
}

output "backend_config" {
  description = "The lines of a backend config file for deploy/aws (add key=...)."
  value       = "bucket       = \"${aws_s3_bucket.state.bucket}\"\nregion       = \"${var.aws_region}\"\nkms_key_id   = \"${aws_kms_key.state.arn}\"\nencrypt      = true\nuse_lockfile = true\n"
}

output "access_log_bucket" {
  description = "Bucket with the state bucket's access logs."
  value       = aws_s3_bucket.logs.bucket
}
