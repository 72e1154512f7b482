# Two CodeBuild projects: `build` (tests, the RDS CA bundle checked against its pin, image, push,
# deployment artifacts) and `migrate` (runs the migrate task with the new image and fails the
# pipeline unless it exits 0, then registers the audit-purge revision with that image). Their buildspecs
# live in the repository under deploy/aws/pipeline/.

resource "aws_cloudwatch_log_group" "codebuild" {
  name              = "/aws/codebuild/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}

resource "aws_codebuild_project" "build" {
  #checkov:skip=CKV_AWS_316:Building the container image needs the Docker daemon, which CodeBuild runs only in privileged mode; the project builds only this repository's branch.
  name           = "${var.name}-build"
  description    = "todo-api: cargo test, docker build, push to ECR, blue/green artifacts"
  service_role   = aws_iam_role.codebuild["build"].arn
  build_timeout  = 60
  queued_timeout = 60
  encryption_key = var.data_kms_key_arn

  source {
    type      = "CODEPIPELINE"
    buildspec = "deploy/aws/pipeline/buildspec.yml"
  }

  artifacts {
    type = "CODEPIPELINE"
  }

  cache {
    type  = "LOCAL"
    modes = ["LOCAL_DOCKER_LAYER_CACHE"]
  }

  environment {
    compute_type                = "BUILD_GENERAL1_LARGE" # a release build with fat LTO is CPU-bound
    image                       = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
    type                        = "LINUX_CONTAINER"
    image_pull_credentials_type = "CODEBUILD"
    privileged_mode             = true

    environment_variable {
      name  = "ECR_REPOSITORY_URL"
      value = var.ecr_repository_url
    }
    environment_variable {
      name  = "TASK_DEFINITION_ARN"
      value = var.task_definition_arn
    }
    environment_variable {
      name  = "CONTAINER_NAME"
      value = var.container_name
    }
    environment_variable {
      name  = "RUST_IMAGE"
      value = var.rust_build_image
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name  = aws_cloudwatch_log_group.codebuild.name
      stream_name = "build"
    }
    s3_logs {
      status = "DISABLED"
    }
  }
}

resource "aws_codebuild_project" "migrate" {
  name           = "${var.name}-migrate"
  description    = "todo-api: run the migrate task with the new image, wait for exit code 0"
  service_role   = aws_iam_role.codebuild["migrate"].arn
  build_timeout  = 60
  queued_timeout = 60
  encryption_key = var.data_kms_key_arn

  source {
    type      = "CODEPIPELINE"
    buildspec = "deploy/aws/pipeline/buildspec-migrate.yml"
  }

  artifacts {
    type = "CODEPIPELINE"
  }

  environment {
    compute_type                = "BUILD_GENERAL1_SMALL"
    image                       = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
    type                        = "LINUX_CONTAINER"
    image_pull_credentials_type = "CODEBUILD"
    privileged_mode             = false

    environment_variable {
      name  = "CLUSTER"
      value = var.cluster_name
    }
    environment_variable {
      name  = "MIGRATE_TASK_DEFINITION_ARN"
      value = var.migrate_task_definition_arn
    }
    environment_variable {
      name  = "PURGE_TASK_DEFINITION_ARN"
      value = var.purge_task_definition_arn
    }
    environment_variable {
      name  = "CONTAINER_NAME"
      value = var.container_name
    }
    environment_variable {
      name  = "SUBNETS"
      value = join(",", var.private_subnet_ids)
    }
    environment_variable {
      name  = "SECURITY_GROUP"
      value = var.ecs_security_group_id
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name  = aws_cloudwatch_log_group.codebuild.name
      stream_name = "migrate"
    }
    s3_logs {
      status = "DISABLED"
    }
  }
}
