# One-off task that creates the service's database login (db-setup.sql). The service does not
# connect as the master user because RDS rotates the master password on its own schedule (every
# 7 days), while ECS injects a secret only when a task starts: after a rotation the running tasks
# could no longer open connections. The master user is used only by short-lived one-off tasks
# (migrate, db-setup) that read the current password when they start. Run this task once after
# the first `terraform apply` and after each change of the db-app-user password
# (docs/deploy-aws.md, "First deploy").

resource "aws_ecs_task_definition" "db_setup" {
  family                   = "${var.name}-db-setup"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  execution_role_arn       = aws_iam_role.execution["db-setup"].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  container_definitions = jsonencode([
    {
      name                   = "db-setup"
      image                  = var.psql_image
      essential              = true
      user                   = "postgres"
      readonlyRootFilesystem = true
      entryPoint             = ["/bin/sh", "-c"]
      command                = ["printf '%s\\n' \"$SETUP_SQL\" | psql --no-psqlrc --quiet --file=-"]
      environment = [
        { name = "SETUP_SQL", value = file("${path.module}/../../../sql/db-setup.sql") },
        { name = "PGHOST", value = var.db_address },
        { name = "PGPORT", value = tostring(var.db_port) },
        { name = "PGDATABASE", value = var.db_name },
        { name = "PGUSER", value = var.db_master_username },
        { name = "PGSSLMODE", value = "require" },
        { name = "PGAPPNAME", value = "todo-api-db-setup" },
        { name = "APP_DB_USER", value = var.db_app_username },
      ]
      secrets = [
        { name = "PGPASSWORD", valueFrom = "${var.db_master_secret_arn}:password::" },
        { name = "APP_DB_PASSWORD", valueFrom = "${aws_secretsmanager_secret.db_app.arn}:password::" },
      ]
      linuxParameters = {
        capabilities = { drop = ["ALL"] }
      }
      logConfiguration = local.logging["db-setup"]
    },
  ])

  # The login must hold a password before anything uses the task.
  depends_on = [aws_secretsmanager_secret_version.db_app]
}
