# Roles of the pipeline, each limited to the resources it works on. Actions that IAM cannot scope
# to a resource (ecr:GetAuthorizationToken, ecs:DescribeTaskDefinition/RegisterTaskDefinition,
# elasticloadbalancing:Describe*) are the only ones on "*".

locals {
  ecs_arn_prefix   = "arn:${local.partition}:ecs:${var.aws_region}:${local.account_id}"
  service_arn      = "${local.ecs_arn_prefix}:service/${var.cluster_name}/${var.service_name}"
  cluster_arn      = "${local.ecs_arn_prefix}:cluster/${var.cluster_name}"
  artifact_objects = "${aws_s3_bucket.artifacts.arn}/*"

  pass_to_ecs_tasks = {
    test     = "StringEquals"
    variable = "iam:PassedToService"
    values   = ["ecs-tasks.amazonaws.com"]
  }
}

data "aws_iam_policy_document" "assume" {
  for_each = toset(["codebuild", "codepipeline", "codedeploy"])

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["${each.key}.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# --- CodeBuild -------------------------------------------------------------------------------

resource "aws_iam_role" "codebuild" {
  for_each = toset(["build", "migrate"])

  name               = "${var.name}-codebuild-${each.key}"
  description        = "CodeBuild ${each.key} project of ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume["codebuild"].json
}

data "aws_iam_policy_document" "codebuild_common" {
  statement {
    sid       = "BuildLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.codebuild.arn}:*"]
  }

  statement {
    sid       = "PipelineArtifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
    resources = [local.artifact_objects]
  }

  statement {
    sid       = "ArtifactEncryption"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.data_kms_key_arn]
  }

  statement {
    sid       = "ReadTemplateTaskDefinition"
    actions   = ["ecs:DescribeTaskDefinition"] # not resource-scopable
    resources = ["*"]
  }
}

data "aws_iam_policy_document" "codebuild_build" {
  source_policy_documents = [data.aws_iam_policy_document.codebuild_common.json]

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"] # account-level action
    resources = ["*"]
  }

  statement {
    sid = "PushAppImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [var.ecr_repository_arn]
  }
}

data "aws_iam_policy_document" "codebuild_migrate" {
  source_policy_documents = [data.aws_iam_policy_document.codebuild_common.json]

  statement {
    sid       = "RegisterMigrateRevision"
    actions   = ["ecs:RegisterTaskDefinition"] # not resource-scopable
    resources = ["*"]
  }

  statement {
    sid       = "RunMigrateTaskInCluster"
    actions   = ["ecs:RunTask"]
    resources = ["${local.ecs_arn_prefix}:task-definition/${var.migrate_task_family}:*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "WatchMigrateTask"
    actions   = ["ecs:DescribeTasks"]
    resources = ["${local.ecs_arn_prefix}:task/${var.cluster_name}/*"]
  }

  statement {
    sid       = "PassMigrateExecutionRole"
    actions   = ["iam:PassRole"]
    resources = [var.pass_role_arns["migrate_execution"], var.pass_role_arns["purge_execution"]]
    condition {
      test     = local.pass_to_ecs_tasks.test
      variable = local.pass_to_ecs_tasks.variable
      values   = local.pass_to_ecs_tasks.values
    }
  }
}

resource "aws_iam_role_policy" "codebuild" {
  for_each = {
    build   = data.aws_iam_policy_document.codebuild_build.json
    migrate = data.aws_iam_policy_document.codebuild_migrate.json
  }

  name   = "codebuild-${each.key}"
  role   = aws_iam_role.codebuild[each.key].id
  policy = each.value
}

# --- CodePipeline ----------------------------------------------------------------------------

resource "aws_iam_role" "codepipeline" {
  name               = "${var.name}-codepipeline"
  description        = "CodePipeline of ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume["codepipeline"].json
}

data "aws_iam_policy_document" "codepipeline" {
  statement {
    sid       = "Artifacts"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"]
    resources = [local.artifact_objects]
  }

  statement {
    sid       = "ArtifactBucket"
    actions   = ["s3:GetBucketVersioning", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.artifacts.arn]
  }

  statement {
    sid       = "ArtifactEncryption"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.data_kms_key_arn]
  }

  statement {
    sid       = "GitHubSource"
    actions   = ["codestar-connections:UseConnection", "codeconnections:UseConnection"]
    resources = [aws_codestarconnections_connection.github.arn]
  }

  statement {
    sid       = "RunBuilds"
    actions   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds"]
    resources = [aws_codebuild_project.build.arn, aws_codebuild_project.migrate.arn]
  }

  statement {
    sid = "Deploy"
    actions = [
      "codedeploy:CreateDeployment",
      "codedeploy:GetApplication",
      "codedeploy:GetApplicationRevision",
      "codedeploy:GetDeployment",
      "codedeploy:RegisterApplicationRevision",
    ]
    resources = [
      aws_codedeploy_app.this.arn,
      "arn:${local.partition}:codedeploy:${var.aws_region}:${local.account_id}:deploymentgroup:${aws_codedeploy_app.this.name}/${aws_codedeploy_deployment_group.this.deployment_group_name}",
    ]
  }

  statement {
    sid       = "DeploymentConfig"
    actions   = ["codedeploy:GetDeploymentConfig"]
    resources = ["arn:${local.partition}:codedeploy:${var.aws_region}:${local.account_id}:deploymentconfig:${var.deployment_config_name}"]
  }

  statement {
    sid       = "RegisterServiceRevision"
    actions   = ["ecs:RegisterTaskDefinition"] # CodeDeployToECS registers taskdef.json; not resource-scopable
    resources = ["*"]
  }

  statement {
    sid       = "PassServiceRoles"
    actions   = ["iam:PassRole"]
    resources = [var.pass_role_arns["app_execution"], var.pass_role_arns["app_task"]]
    condition {
      test     = local.pass_to_ecs_tasks.test
      variable = local.pass_to_ecs_tasks.variable
      values   = local.pass_to_ecs_tasks.values
    }
  }
}

resource "aws_iam_role_policy" "codepipeline" {
  name   = "codepipeline"
  role   = aws_iam_role.codepipeline.id
  policy = data.aws_iam_policy_document.codepipeline.json
}

# --- CodeDeploy ------------------------------------------------------------------------------
# What AWSCodeDeployRoleForECS grants, narrowed to this service, its listeners and roles (no
# lifecycle hook Lambdas, no SNS triggers, no S3 revisions: CodePipeline passes the appspec).

resource "aws_iam_role" "codedeploy" {
  name               = "${var.name}-codedeploy"
  description        = "CodeDeploy blue/green of ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume["codedeploy"].json
}

data "aws_iam_policy_document" "codedeploy" {
  statement {
    sid     = "ManageTaskSets"
    actions = ["ecs:CreateTaskSet", "ecs:DeleteTaskSet", "ecs:DescribeServices", "ecs:UpdateServicePrimaryTaskSet"]
    resources = [
      local.service_arn,
      "${local.ecs_arn_prefix}:task-set/${var.cluster_name}/${var.service_name}/*",
    ]
  }

  statement {
    sid     = "SwitchListeners"
    actions = ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"]
    resources = [
      var.https_listener_arn,
      var.test_listener_arn,
      "${replace(var.https_listener_arn, ":listener/", ":listener-rule/")}/*",
      "${replace(var.test_listener_arn, ":listener/", ":listener-rule/")}/*",
    ]
  }

  statement {
    sid       = "ReadDeploymentAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = [for a in var.deployment_alarm_names : "arn:${local.partition}:cloudwatch:${var.aws_region}:${local.account_id}:alarm:${a}"]
  }

  statement {
    sid = "DescribeLoadBalancing"
    actions = [
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeTargetGroups",
    ]
    resources = ["*"] # read-only, not resource-scopable
  }

  statement {
    sid       = "PassServiceRoles"
    actions   = ["iam:PassRole"]
    resources = [var.pass_role_arns["app_execution"], var.pass_role_arns["app_task"]]
    condition {
      test     = local.pass_to_ecs_tasks.test
      variable = local.pass_to_ecs_tasks.variable
      values   = local.pass_to_ecs_tasks.values
    }
  }
}

resource "aws_iam_role_policy" "codedeploy" {
  name   = "codedeploy-ecs-blue-green"
  role   = aws_iam_role.codedeploy.id
  policy = data.aws_iam_policy_document.codedeploy.json
}
