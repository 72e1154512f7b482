# RDS for PostgreSQL 15: encrypted with the data key, SSL forced, private subnets only, 7-day
# automated backups (point-in-time restore), Multi-AZ, deletion protection and a final snapshot
# in prod, Performance Insights and enhanced monitoring, logs exported to CloudWatch.
# The master password is generated, stored and rotated by RDS in Secrets Manager
# (manage_master_user_password): it never appears in Terraform code or state.

resource "aws_db_subnet_group" "this" {
  name        = var.name
  description = "Private subnets of ${var.name}"
  subnet_ids  = var.private_subnet_ids
}

resource "aws_db_parameter_group" "this" {
  name        = "${var.name}-postgres15"
  family      = "postgres15"
  description = "todo-api: SSL required, slow-query logging"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  # Slow statements (> 1 s) with their text. log_statement stays "none", not "ddl": the db-setup
  # task runs ALTER ROLE ... PASSWORD, which "ddl" would write to the log in plain text; schema
  # changes come only from the versioned migrations in git.
  parameter {
    name  = "log_min_duration_statement"
    value = "1000"
  }

  parameter {
    name  = "log_statement"
    value = "none"
  }

  parameter {
    name  = "log_lock_waits"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

locals {
  final_snapshot_identifier = "${var.name}-final"
}

resource "aws_db_instance" "primary" {
  #checkov:skip=CKV_AWS_157:Multi-AZ is var.multi_az: on in prod (prod.tfvars, asserted by deploy/tests/test_aws_database.py), off in dev by design to halve its cost.
  #checkov:skip=CKV_AWS_293:Deletion protection is var.deletion_protection: on in prod (asserted by the tests); off in dev so the environment can be torn down.
  identifier     = var.name
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name                       = var.database_name
  username                      = var.master_username
  manage_master_user_password   = true
  master_user_secret_kms_key_id = var.kms_key_arn
  port                          = 5432

  storage_type          = "gp3"
  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  multi_az               = var.multi_az
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [var.security_group_id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  iam_database_authentication_enabled = var.iam_database_authentication

  backup_retention_period   = var.backup_retention_days
  backup_window             = "17:00-18:00"         # 02:00-03:00 JST
  maintenance_window        = "sun:18:30-sun:19:30" # Mon 03:30-04:30 JST, after the backup
  copy_tags_to_snapshot     = true
  delete_automated_backups  = false
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = !var.deletion_protection
  final_snapshot_identifier = var.deletion_protection ? local.final_snapshot_identifier : null

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  apply_immediately           = false

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7 # the free tier
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  depends_on = [aws_cloudwatch_log_group.postgresql]
}

# Asynchronous replica for reads (DATABASE_READ_URL). Same class, parameters and security group;
# it inherits encryption and the master user from the primary. Not a backup: it replays every
# change, including a bad one; restores come from the primary's backups.
resource "aws_db_instance" "replica" {
  #checkov:skip=CKV_AWS_157:A read replica is a single-AZ read scale-out; availability comes from the Multi-AZ primary (prod).
  #checkov:skip=CKV_AWS_133:Backups are taken from the primary (7 days, point-in-time); the replica's data is a copy of it.
  count = var.read_replica ? 1 : 0

  identifier          = "${var.name}-replica"
  replicate_source_db = aws_db_instance.primary.identifier
  instance_class      = var.instance_class

  storage_type          = "gp3"
  max_allocated_storage = var.max_allocated_storage
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  multi_az               = false
  vpc_security_group_ids = [var.security_group_id]
  publicly_accessible    = false
  parameter_group_name   = aws_db_parameter_group.this.name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  iam_database_authentication_enabled = var.iam_database_authentication

  backup_retention_period = 0
  copy_tags_to_snapshot   = true
  deletion_protection     = var.deletion_protection
  skip_final_snapshot     = true

  auto_minor_version_upgrade = true
  apply_immediately          = false
  maintenance_window         = "sun:19:30-sun:20:30"

  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  depends_on = [aws_cloudwatch_log_group.postgresql]
}
