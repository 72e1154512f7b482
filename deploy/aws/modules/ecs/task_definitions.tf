# Task definitions: the service (app + ADOT collector sidecar) and the one-off `migrate` task.
# Terraform registers the revision that defines environment, secrets, roles and sizes; the
# pipeline derives its revisions from it, changing only the image (deploy/aws/pipeline/taskdef.jq).

locals {
  # The service's environment, name -> value (12-factor; see the contract in the README). Kept
  # as one literal map so tests can read it and the same environment can be reproduced locally.
  # Empty values are left out of the task definition.
  container_environment = {
    HOST                        = "0.0.0.0"
    PORT                        = "8000"
    METRICS_PORT                = "9000" # Prometheus /metrics: scraped by the sidecar, never by the ALB
    METRICS_ENABLED             = "true"
    AUTO_MIGRATE                = "false" # the migrate task runs before traffic shifts
    LOG_FORMAT                  = "json"
    RUST_LOG                    = var.rust_log
    SHUTDOWN_TIMEOUT            = "20" # drain within the container's stopTimeout (30) below
    REQUEST_TIMEOUT             = "15"
    OTEL_EXPORTER_OTLP_ENDPOINT = "http://localhost:4317" # ADOT sidecar (same network namespace)
    OTEL_SERVICE_NAME           = "todo-api"
    DATABASE_URL                = "postgres://${var.db_app_username}@${var.db_address}:${var.db_port}/${var.db_name}?${local.db_tls}"
    DATABASE_READ_URL           = var.db_replica_address == null ? "" : "postgres://${var.db_app_username}@${var.db_replica_address}:${var.db_port}/${var.db_name}?${local.db_tls}"
    DATABASE_MAX_CONNECTIONS    = tostring(var.db_max_connections)
    SIGNUP                      = tostring(var.signup)
    AUTHZ                       = var.authz
    # The ALB appends the peer it saw to X-Forwarded-For: the client is the last entry.
    TRUST_PROXY_HEADERS  = "true"
    TRUSTED_PROXIES      = "1"
    AUDIT_RETENTION_DAYS = tostring(var.audit_retention_days)
  }

  # TLS to RDS that verifies the server: the certificate must chain to the RDS CA bundle baked
  # into the image (deploy/container/ca, fetched and checked against its pinned SHA-256 by the
  # build) and name the host dialled (the instance endpoint).
  db_ca_path = "/etc/todo-api/ca/rds-global-bundle.pem"
  db_tls     = "sslmode=verify-full&sslrootcert=${local.db_ca_path}"

  # The owner's URL: the migrate and audit-purge tasks (DDL, grants, deleting audit records).
  owner_database_url = "postgres://${var.db_master_username}@${var.db_address}:${var.db_port}/${var.db_name}?${local.db_tls}"

  # The migrate task connects as the owner (DDL) and needs neither the collector nor the replica.
  # After the migrations it grants DATABASE_APP_ROLE (the service's login) INSERT and SELECT only
  # on the audit tables; BOOTSTRAP_ADMIN_EMAIL (+ the token secret below) names the first admin,
  # adopted only while no admin exists.
  migrate_environment = merge(
    { for k, v in local.container_environment : k => v if !startswith(k, "OTEL_") && k != "DATABASE_READ_URL" },
    {
      DATABASE_URL          = local.owner_database_url
      DATABASE_APP_ROLE     = var.db_app_username
      BOOTSTRAP_ADMIN_EMAIL = var.bootstrap_admin_email
    },
  )

  # `todo-api audit purge`: deletes audit records older than AUDIT_RETENTION_DAYS, as the owner
  # (the service's login may not delete them).
  purge_environment = {
    DATABASE_URL         = local.owner_database_url
    AUDIT_RETENTION_DAYS = tostring(var.audit_retention_days)
    LOG_FORMAT           = "json"
    RUST_LOG             = var.rust_log
  }

  # Injected by the execution role at task start, one JSON key each (name -> valueFrom).
  app_secret_refs = {
    DATABASE_PASSWORD = "${aws_secretsmanager_secret.db_app.arn}:password::"
    TOKEN_PEPPER      = "${aws_secretsmanager_secret.token_pepper.arn}:current::"
  }
  # Only while a pepper rotation is in progress (docs/deploy-aws.md).
  rotation_secret_refs = {
    TOKEN_PEPPER_PREVIOUS = "${aws_secretsmanager_secret.token_pepper.arn}:previous::"
  }
  app_secrets = [
    for k, v in merge(local.app_secret_refs, var.token_pepper_rotating ? local.rotation_secret_refs : {}) :
    { name = k, valueFrom = v }
  ]

  migrate_secrets = concat(
    [{ name = "DATABASE_PASSWORD", valueFrom = "${var.db_master_secret_arn}:password::" }],
    # The whole secret is the token (tdo_<selector>_<secret>); only while a bootstrap e-mail is set.
    var.bootstrap_admin_email == "" ? [] : [{ name = "BOOTSTRAP_ADMIN_TOKEN", valueFrom = aws_secretsmanager_secret.bootstrap_admin_token.arn }],
  )

  purge_secrets = [
    { name = "DATABASE_PASSWORD", valueFrom = "${var.db_master_secret_arn}:password::" },
  ]

  adot_container_name = "aws-otel-collector"

  logging = {
    for prefix in ["app", "adot", "migrate", "db-setup", "audit-purge"] : prefix => {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.app.name
        "awslogs-region"        = var.aws_region
        "awslogs-stream-prefix" = prefix
        # A slow log pipe must not stall request handling: buffer, and drop beyond 25 MB.
        "mode"            = "non-blocking"
        "max-buffer-size" = "25m"
      }
    }
  }

  # Container definitions as locals, so tests read them as data (jsonencode'd below).
  app_container = {
    name                   = var.container_name
    image                  = var.image
    essential              = true
    cpu                    = 384
    memoryReservation      = 768
    user                   = "65532:65532" # distroless nonroot, also enforced here
    readonlyRootFilesystem = true
    portMappings = [
      { name = "http", containerPort = 8000, protocol = "tcp", appProtocol = "http" },
    ]
    environment = [for k, v in local.container_environment : { name = k, value = v } if v != ""]
    secrets     = local.app_secrets
    # ECS sends SIGTERM, waits stopTimeout, then SIGKILL; SHUTDOWN_TIMEOUT (20) drains within it.
    stopTimeout = 30
    healthCheck = {
      command     = ["CMD", "/usr/local/bin/todo-api", "healthcheck"] # /livez: no database call
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 10
    }
    linuxParameters = {
      capabilities = { drop = ["ALL"] }
    }
    # The collector starts first and, being depended on, stops last: the final spans get out.
    dependsOn        = [{ containerName = local.adot_container_name, condition = "START" }]
    logConfiguration = local.logging["app"]
  }

  adot_container = {
    name                   = local.adot_container_name
    image                  = var.adot_image
    essential              = false # losing telemetry must not take the API down
    cpu                    = 128
    memory                 = 256 # hard limit: the sidecar cannot starve the app
    readonlyRootFilesystem = true
    environment = [
      { name = "AOT_CONFIG_CONTENT", value = local.adot_config },
    ]
    healthCheck = {
      command     = ["CMD", "/healthcheck"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 10
    }
    linuxParameters = {
      capabilities = { drop = ["ALL"] }
    }
    logConfiguration = local.logging["adot"]
  }

  migrate_container = {
    name                   = var.container_name
    image                  = var.image
    essential              = true
    command                = ["migrate"]
    user                   = "65532:65532"
    readonlyRootFilesystem = true
    environment            = [for k, v in local.migrate_environment : { name = k, value = v } if v != ""]
    secrets                = local.migrate_secrets
    linuxParameters = {
      capabilities = { drop = ["ALL"] }
    }
    logConfiguration = local.logging["migrate"]
  }

  purge_container = {
    name                   = var.container_name
    image                  = var.image
    essential              = true
    command                = ["audit", "purge"]
    user                   = "65532:65532"
    readonlyRootFilesystem = true
    environment            = [for k, v in local.purge_environment : { name = k, value = v }]
    secrets                = local.purge_secrets
    linuxParameters = {
      capabilities = { drop = ["ALL"] }
    }
    logConfiguration = local.logging["audit-purge"]
  }
}

resource "aws_ecs_task_definition" "app" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 512
  memory                   = 1024
  execution_role_arn       = aws_iam_role.execution["app"].arn
  task_role_arn            = aws_iam_role.app_task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64" # the binary is x86_64-unknown-linux-gnu
  }

  container_definitions = jsonencode([local.app_container, local.adot_container])
}

# One-off: `todo-api migrate` with the image being deployed, run by the pipeline (and by hand,
# see docs/deploy-aws.md) before CodeDeploy shifts traffic. Same container name as the service
# so the pipeline swaps images the same way in both.
resource "aws_ecs_task_definition" "migrate" {
  family                   = "${var.name}-migrate"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution["migrate"].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([local.migrate_container])
}

# One-off `todo-api audit purge`, started daily by the EventBridge Scheduler schedule in
# audit_purge.tf. The pipeline registers a revision with each new image after the migration
# (deploy/aws/pipeline/migrate.sh); the schedule runs the family's latest revision.
resource "aws_ecs_task_definition" "purge" {
  family                   = "${var.name}-audit-purge"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution["audit-purge"].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([local.purge_container])
}
