# Roles of the tasks. Each task family has its own execution role (used by ECS to pull the image,
# write logs and inject secrets), allowed to read exactly the secrets that family injects:
#   app      -> db-app-user, token-pepper
#   migrate  -> the RDS-managed master secret, the first admin's bootstrap token
#   audit-purge -> the RDS-managed master secret
#   db-setup -> the master secret and db-app-user (it sets that user's password)
# The service's task role (used by the running code and the collector) may only send traces to
# X-Ray and metrics to its own log group.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

locals {
  execution_roles = {
    app = {
      secrets  = [aws_secretsmanager_secret.db_app.arn, aws_secretsmanager_secret.token_pepper.arn]
      ecr_pull = true
    }
    migrate = {
      secrets  = [var.db_master_secret_arn, aws_secretsmanager_secret.bootstrap_admin_token.arn]
      ecr_pull = true
    }
    audit-purge = {
      secrets  = [var.db_master_secret_arn]
      ecr_pull = true
    }
    db-setup = {
      secrets  = [var.db_master_secret_arn, aws_secretsmanager_secret.db_app.arn]
      ecr_pull = false # psql image from ECR Public, which needs no credentials
    }
  }
}

resource "aws_iam_role" "execution" {
  for_each = local.execution_roles

  name               = "${var.name}-${each.key}-execution"
  description        = "ECS execution role of ${var.name} ${each.key} tasks"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "execution" {
  for_each = local.execution_roles

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.app.arn}:*"]
  }

  statement {
    sid       = "ReadInjectedSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = each.value.secrets
  }

  statement {
    sid       = "DecryptInjectedSecrets"
    actions   = ["kms:Decrypt"]
    resources = [var.data_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.aws_region}.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = each.value.ecr_pull ? [1] : []
    content {
      sid       = "PullAppImage"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = [var.ecr_repository_arn]
    }
  }

  dynamic "statement" {
    for_each = each.value.ecr_pull ? [1] : []
    content {
      sid       = "EcrLogin"
      actions   = ["ecr:GetAuthorizationToken"] # account-level action: has no resource to scope to
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  for_each = local.execution_roles

  name   = "pull-log-secrets"
  role   = aws_iam_role.execution[each.key].id
  policy = data.aws_iam_policy_document.execution[each.key].json
}

resource "aws_iam_role" "app_task" {
  name               = "${var.name}-app-task"
  description        = "Task role of the ${var.name} service (app and ADOT collector)"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "app_task" {
  statement {
    sid = "SendTraces"
    # X-Ray's write and sampling actions have no resource types: "*" is the only possible scope.
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
      "xray:GetSamplingStatisticSummaries",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "WriteEmbeddedMetrics"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = [aws_cloudwatch_log_group.metrics.arn, "${aws_cloudwatch_log_group.metrics.arn}:*"]
  }
}

resource "aws_iam_role_policy" "app_task" {
  name   = "traces-and-metrics"
  role   = aws_iam_role.app_task.id
  policy = data.aws_iam_policy_document.app_task.json
}
