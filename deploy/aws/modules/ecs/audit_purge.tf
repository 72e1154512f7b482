# The daily audit purge: EventBridge Scheduler runs the audit-purge task definition (the family's
# latest revision, which the pipeline keeps on the current image) as a one-off Fargate task in the
# private subnets. `todo-api audit purge` deletes audit records older than AUDIT_RETENTION_DAYS,
# as the owner role, and prints {"purged": N, "before": "..."} to /ecs/todo-api (stream prefix
# audit-purge). A failed RunTask call is retried (2 attempts within 1 hour), then sent to a dead-
# letter queue that keeps them 14 days (docs/deploy-aws.md, "Audit retention").

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

# Least privilege: run this one task family in this cluster, hand ECS exactly its execution role,
# and write failed invocations to its dead-letter queue.
resource "aws_iam_role" "scheduler" {
  name               = "${var.name}-audit-purge-scheduler"
  description        = "EventBridge Scheduler: starts the ${var.name} audit-purge task"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "RunAuditPurgeTask"
    actions   = ["ecs:RunTask"]
    resources = ["${aws_ecs_task_definition.purge.arn_without_revision}:*", aws_ecs_task_definition.purge.arn_without_revision]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.this.arn]
    }
  }

  statement {
    sid       = "PassAuditPurgeExecutionRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.execution["audit-purge"].arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.audit_purge_dlq.arn]
  }

  # The schedule itself is encrypted with the data key; EventBridge Scheduler decrypts its
  # target with the role it assumes.
  statement {
    sid       = "DecryptSchedule"
    actions   = ["kms:Decrypt"]
    resources = [var.data_kms_key_arn]
  }

  statement {
    sid       = "EncryptDeadLetters"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [var.data_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${var.aws_region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "run-audit-purge"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_sqs_queue" "audit_purge_dlq" {
  name                              = "${var.name}-audit-purge-dlq"
  kms_master_key_id                 = var.data_kms_key_arn
  kms_data_key_reuse_period_seconds = 3600
  message_retention_seconds         = 1209600 # 14 days, the maximum: time to notice and rerun
}

resource "aws_scheduler_schedule" "audit_purge" {
  name                         = "${var.name}-audit-purge"
  description                  = "todo-api audit purge: delete audit records older than ${var.audit_retention_days} days"
  schedule_expression          = var.audit_purge_schedule
  schedule_expression_timezone = var.audit_purge_schedule_timezone
  kms_key_arn                  = var.data_kms_key_arn

  flexible_time_window {
    mode                      = "FLEXIBLE"
    maximum_window_in_minutes = 30
  }

  target {
    arn      = aws_ecs_cluster.this.arn
    role_arn = aws_iam_role.scheduler.arn

    ecs_parameters {
      # Without a revision: RunTask takes the family's latest ACTIVE revision, the one the
      # pipeline registered with the image it just deployed.
      task_definition_arn     = aws_ecs_task_definition.purge.arn_without_revision
      launch_type             = "FARGATE"
      platform_version        = "LATEST"
      task_count              = 1
      enable_ecs_managed_tags = true

      network_configuration {
        subnets          = var.private_subnet_ids
        security_groups  = [var.security_group_id]
        assign_public_ip = false
      }
    }

    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 2
    }

    dead_letter_config {
      arn = aws_sqs_queue.audit_purge_dlq.arn
    }
  }
}
