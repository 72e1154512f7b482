output "pipeline_name" {
  description = "Name of the CodePipeline."
  value       = aws_codepipeline.this.name
}

output "codestar_connection_arn" {
  description = "GitHub connection; complete its handshake in the console before the first run."
  value       = aws_codestarconnections_connection.github.arn
}

output "codedeploy_application" {
  description = "CodeDeploy application (ECS)."
  value       = aws_codedeploy_app.this.name
}

output "codedeploy_deployment_group" {
  description = "CodeDeploy deployment group (blue/green)."
  value       = aws_codedeploy_deployment_group.this.deployment_group_name
}

output "artifact_bucket" {
  description = "Pipeline artifact bucket."
  value       = aws_s3_bucket.artifacts.bucket
}
