# todo-api on AWS (ap-northeast-1): one configuration, two variable sets (dev.tfvars, prod.tfvars).
#
#   internet -> WAF -> ALB (80 -> 301, 443 TLS 1.2+) -> ECS Fargate tasks (8000, private subnets)
#            -> RDS PostgreSQL 15 (5432, private subnets) [+ read replica in prod]
#   CodePipeline: GitHub -> CodeBuild (test, build, push to ECR) -> migrate task -> CodeDeploy blue/green
#
# docs/deploy-aws.md is the operator's guide (first deploy, migrations, rotations, restores, cost).

locals {
  name = "todo-api-${var.environment}"
}

module "kms" {
  source = "./modules/kms"

  name       = local.name
  aws_region = var.aws_region
}

module "network" {
  source = "./modules/network"

  name                      = local.name
  nat_gateway_count         = var.nat_gateway_count
  test_listener_cidr_blocks = var.test_listener_cidr_blocks
  log_retention_days        = var.log_retention_days
  logs_kms_key_arn          = module.kms.logs_key_arn
}

module "alb" {
  source = "./modules/alb"

  name                      = local.name
  vpc_id                    = module.network.vpc_id
  public_subnet_ids         = module.network.public_subnet_ids
  security_group_id         = module.network.alb_security_group_id
  domain_name               = var.domain_name
  route53_zone_id           = var.route53_zone_id
  deletion_protection       = var.deletion_protection
  access_log_retention_days = var.access_log_retention_days
  web_acl_arn               = module.waf.web_acl_arn
}

module "waf" {
  source = "./modules/waf"

  name                      = local.name
  rate_limit                = var.waf_rate_limit
  geo_allowed_country_codes = var.waf_geo_allowed_country_codes
  log_retention_days        = var.log_retention_days
  logs_kms_key_arn          = module.kms.logs_key_arn
}

module "ecr" {
  source = "./modules/ecr"

  kms_key_arn  = module.kms.data_key_arn
  force_delete = !var.deletion_protection
}

module "database" {
  source = "./modules/database"

  name                  = local.name
  private_subnet_ids    = module.network.private_subnet_ids
  security_group_id     = module.network.db_security_group_id
  instance_class        = var.db_instance_class
  multi_az              = var.db_multi_az
  read_replica          = var.db_read_replica
  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  deletion_protection   = var.deletion_protection
  kms_key_arn           = module.kms.data_key_arn
  logs_kms_key_arn      = module.kms.logs_key_arn
  log_retention_days    = var.log_retention_days
}

module "ecs" {
  source = "./modules/ecs"

  name                    = local.name
  aws_region              = var.aws_region
  image                   = "${module.ecr.repository_url}:${var.image_tag}"
  ecr_repository_arn      = module.ecr.repository_arn
  private_subnet_ids      = module.network.private_subnet_ids
  security_group_id       = module.network.ecs_security_group_id
  target_group_arn        = module.alb.target_group_arns["blue"]
  alb_arn_suffix          = module.alb.alb_arn_suffix
  db_address              = module.database.address
  db_replica_address      = module.database.replica_address
  db_port                 = module.database.port
  db_name                 = module.database.database_name
  db_master_username      = module.database.master_username
  db_master_secret_arn    = module.database.master_secret_arn
  db_app_password_version = var.db_app_password_version
  db_max_connections      = var.db_max_connections_per_task
  rust_log                = var.rust_log
  signup                  = var.signup
  authz                   = var.authz
  bootstrap_admin_email   = var.bootstrap_admin_email
  audit_retention_days    = var.audit_retention_days
  audit_purge_schedule    = var.audit_purge_schedule
  token_pepper_rotating   = var.token_pepper_rotating
  data_kms_key_arn        = module.kms.data_key_arn
  logs_kms_key_arn        = module.kms.logs_key_arn
  log_retention_days      = var.log_retention_days
}

module "observability" {
  source = "./modules/observability"

  name                      = local.name
  aws_region                = var.aws_region
  alarm_email               = var.alarm_email
  data_kms_key_arn          = module.kms.data_key_arn
  cluster_name              = module.ecs.cluster_name
  service_name              = module.ecs.service_name
  alb_arn_suffix            = module.alb.alb_arn_suffix
  target_group_arn_suffixes = module.alb.target_group_arn_suffixes
  db_instance_identifier    = module.database.identifier
  db_replica_identifier     = module.database.replica_identifier
  db_log_group_name         = module.database.postgresql_log_group_name
  app_log_group_name        = module.ecs.log_group_name
}

module "pipeline" {
  source = "./modules/pipeline"

  name                        = local.name
  aws_region                  = var.aws_region
  repository_id               = var.repository_id
  branch                      = var.branch
  require_approval            = var.require_approval
  deployment_config_name      = var.deployment_config_name
  termination_wait_minutes    = var.termination_wait_minutes
  ecr_repository_url          = module.ecr.repository_url
  ecr_repository_arn          = module.ecr.repository_arn
  cluster_name                = module.ecs.cluster_name
  service_name                = module.ecs.service_name
  container_name              = module.ecs.container_name
  task_definition_arn         = module.ecs.task_definition_arn
  migrate_task_definition_arn = module.ecs.migrate_task_definition_arn
  migrate_task_family         = module.ecs.migrate_task_family
  purge_task_definition_arn   = module.ecs.purge_task_definition_arn
  pass_role_arns              = module.ecs.pass_role_arns
  private_subnet_ids          = module.network.private_subnet_ids
  ecs_security_group_id       = module.network.ecs_security_group_id
  https_listener_arn          = module.alb.https_listener_arn
  test_listener_arn           = module.alb.test_listener_arn
  target_group_names          = module.alb.target_group_names
  deployment_alarm_names      = module.observability.deployment_alarm_names
  data_kms_key_arn            = module.kms.data_key_arn
  logs_kms_key_arn            = module.kms.logs_key_arn
  log_retention_days          = var.log_retention_days
  force_destroy_artifacts     = !var.deletion_protection
}
