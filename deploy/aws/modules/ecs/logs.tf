# Log groups of the tasks. The application group keeps the required name, /ecs/todo-api (one
# environment per AWS account: see docs/deploy-aws.md); stream prefixes app/adot/migrate/db-setup
# tell the containers apart.

resource "aws_cloudwatch_log_group" "app" {
  name              = "/ecs/todo-api"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}

resource "aws_cloudwatch_log_group" "metrics" {
  name              = "/ecs/todo-api/metrics"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}

# Only used if someone enables ECS Exec on a task: its sessions are logged, encrypted.
resource "aws_cloudwatch_log_group" "exec" {
  name              = "/ecs/todo-api/exec"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}
