# todo-api on Google Cloud: one configuration, two variable sets (dev.tfvars, prod.tfvars).
# The numbers are the deployment requirements (subnets, Cloud Run shape and scaling, database
# tiers, backups, alert thresholds: docs/deploy-gcp.md lists them).

locals {
  name   = "${var.name}-${var.environment}"
  region = "asia-northeast1"
  labels = {
    app         = var.name
    environment = var.environment
    managed-by  = "terraform"
  }

  subnets = {
    tokyo = { region = "asia-northeast1", cidr = "10.0.1.0/24" }
    osaka = { region = "asia-northeast2", cidr = "10.0.2.0/24" }
  }

  # The required Cloud Run shape, the same in both environments.
  cloud_run = {
    cpu           = "1"
    memory        = "2Gi"
    concurrency   = 100
    min_instances = 1
    max_instances = 10
  }

  # Per-environment settings, each written `var.environment == "prod" ? <prod> : <dev>` rather
  # than as a map indexed by environment, so that checkov (run once per var-file) sees the
  # values of that environment.
  env = {
    # The required db-n1-standard-2 (2 vCPU, 7.5 GB): Cloud SQL for PostgreSQL has no n1
    # predefined tiers and offers that shape as the custom tier db-custom-2-7680.
    database_tier              = var.environment == "prod" ? "db-custom-2-7680" : "db-f1-micro"
    database_availability_type = var.environment == "prod" ? "REGIONAL" : "ZONAL"
    database_read_replica      = var.environment == "prod"
    deletion_protection        = var.environment == "prod"
    # Connections per instance x 10 instances must fit the tier: db-f1-micro allows 25
    # (10 x 2 = 20); the prod tier allows several hundred (10 x 10 = 100).
    database_max_connections = var.environment == "prod" ? 10 : 2
    log_retention_days       = var.environment == "prod" ? 365 : 30
    build_requires_approval  = var.environment == "prod"
  }
}

module "kms" {
  source = "./modules/kms"

  project_id = var.project_id
  name       = local.name
  region     = local.region

  depends_on = [google_project_service.enabled]
}

module "network" {
  source = "./modules/network"

  project_id = var.project_id
  name       = local.name
  subnets    = local.subnets
  run_subnet = "tokyo"

  depends_on = [google_project_service.enabled]
}

module "secrets" {
  source = "./modules/secrets"

  project_id              = var.project_id
  name                    = local.name
  region                  = local.region
  kms_key_id              = module.kms.key_ids["secrets"]
  accessor_email          = module.cloud_run.service_account_email
  jobs_accessor_email     = module.cloud_run.jobs_service_account_email
  token_pepper_generation = var.token_pepper_generation
  labels                  = local.labels

  depends_on = [google_project_service.enabled]
}

module "database" {
  source = "./modules/database"

  project_id          = var.project_id
  name                = local.name
  region              = local.region
  tier                = local.env.database_tier
  availability_type   = local.env.database_availability_type
  deletion_protection = local.env.deletion_protection
  read_replica        = local.env.database_read_replica
  network_id          = module.network.private_services_network_id
  allocated_ip_range  = module.network.private_services_range_name
  kms_key_id          = module.kms.key_ids["sql"]
  password_secret_id  = module.secrets.secret_resource_ids["database_password"]
  password_generation = var.database_password_generation

  owner_password_secret_id = module.secrets.secret_resource_ids["database_owner_password"]
  server_ca_secret_id      = module.secrets.secret_resource_ids["database_server_ca"]
  labels                   = local.labels

  depends_on = [google_project_service.enabled]
}

module "registry" {
  source = "./modules/registry"

  project_id = var.project_id
  region     = local.region
  kms_key_id = module.kms.key_ids["registry"]

  depends_on = [google_project_service.enabled]
}

module "cloud_run" {
  source = "./modules/cloud_run"

  project_id          = var.project_id
  name                = local.name
  region              = local.region
  image               = var.image
  cpu                 = local.cloud_run.cpu
  memory              = local.cloud_run.memory
  concurrency         = local.cloud_run.concurrency
  min_instances       = local.cloud_run.min_instances
  max_instances       = local.cloud_run.max_instances
  subnet_id           = module.network.run_subnet_id
  egress_tag          = module.network.run_egress_tag
  kms_key_id          = module.kms.key_ids["run"]
  rust_log            = var.rust_log
  deletion_protection = local.env.deletion_protection
  labels              = local.labels

  database_max_connections = local.env.database_max_connections
  database = {
    # DNS names, not IPs: the servers' certificates name them (verify-full).
    host                   = module.database.dns_name
    replica_host           = module.database.replica_dns_name
    name                   = module.database.database_name
    user                   = module.database.user_name
    password_secret        = module.secrets.secret_ids["database_password"]
    password_version       = module.database.password_secret_version
    owner_user             = module.database.owner_user_name
    owner_password_secret  = module.secrets.secret_ids["database_owner_password"]
    owner_password_version = module.database.owner_password_secret_version
    ca_secret              = module.secrets.secret_ids["database_server_ca"]
    ca_version             = module.database.server_ca_secret_version
  }
  bootstrap_admin = {
    email         = var.bootstrap_admin_email
    token_secret  = module.secrets.secret_ids["bootstrap_admin_token"]
    token_version = module.secrets.bootstrap_admin_token_version
  }
  signup               = var.signup
  authz                = var.authz
  audit_retention_days = var.audit_retention_days
  audit_purge_schedule = var.audit_purge_schedule
  token_pepper = {
    secret           = module.secrets.secret_ids["token_pepper"]
    version          = module.secrets.token_pepper_version
    previous_version = var.token_pepper_previous_version
  }

  depends_on = [google_project_service.enabled]
}

module "load_balancer" {
  source = "./modules/load_balancer"

  project_id               = var.project_id
  name                     = local.name
  region                   = local.region
  service_name             = module.cloud_run.service_name
  domain                   = var.domain
  geo_allowed_region_codes = var.geo_allowed_region_codes

  depends_on = [google_project_service.enabled]
}

module "monitoring" {
  source = "./modules/monitoring"

  project_id            = var.project_id
  name                  = local.name
  service_name          = module.cloud_run.service_name
  sql_instance_name     = module.database.instance_name
  domain                = var.domain
  notification_channels = var.notification_channels
  alert_email           = var.alert_email
  min_instances         = local.cloud_run.min_instances
  log_retention_days    = local.env.log_retention_days

  depends_on = [google_project_service.enabled]
}

module "build" {
  source = "./modules/build"

  project_id                 = var.project_id
  name                       = local.name
  region                     = local.region
  repository_id              = module.registry.repository_id
  github_owner               = var.github_owner
  github_repository          = var.github_repository
  branch_regex               = var.build_branch
  require_approval           = local.env.build_requires_approval
  service_name               = module.cloud_run.service_name
  job_name                   = module.cloud_run.job_name
  purge_job_name             = module.cloud_run.purge_job_name
  runtime_service_account_id = module.cloud_run.service_account_id
  jobs_service_account_id    = module.cloud_run.jobs_service_account_id

  depends_on = [google_project_service.enabled]
}
