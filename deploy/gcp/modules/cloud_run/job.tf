# The one-off jobs, all as the jobs service account and the database owner:
#  - migrate: `todo-api migrate`; Cloud Build updates its image and runs it with --wait before it
#    deploys a new revision, so a failed migration stops the deploy. It also grants
#    DATABASE_APP_ROLE (the service's login) INSERT/SELECT only on the audit tables, and adopts
#    the first admin (BOOTSTRAP_ADMIN_EMAIL + BOOTSTRAP_ADMIN_TOKEN) while no admin exists.
#  - audit-purge: `todo-api audit purge`, daily by Cloud Scheduler (below).
#  - db-setup: psql with deploy/sql/db-setup.sql: the service's login gets DML only (run once
#    after the first apply and after a restore, docs/deploy-gcp.md).

locals {
  jobs_vpc = { subnet = var.subnet_id, tag = var.egress_tag }

  migrate_environment = merge(
    {
      DATABASE_URL          = local.owner_database_url
      DATABASE_APP_ROLE     = var.database.user
      LOG_FORMAT            = "json"
      RUST_LOG              = var.rust_log
      GOOGLE_CLOUD_PROJECT  = var.project_id
      SIGNUP                = tostring(var.signup)
      AUTHZ                 = var.authz
      AUDIT_RETENTION_DAYS  = tostring(var.audit_retention_days)
      BOOTSTRAP_ADMIN_EMAIL = var.bootstrap_admin.email
    },
  )

  purge_environment = {
    DATABASE_URL         = local.owner_database_url
    AUDIT_RETENTION_DAYS = tostring(var.audit_retention_days)
    LOG_FORMAT           = "json"
    RUST_LOG             = var.rust_log
    GOOGLE_CLOUD_PROJECT = var.project_id
  }

  owner_password = { secret = var.database.owner_password_secret, version = var.database.owner_password_version }
  migrate_secrets = merge(
    { DATABASE_PASSWORD = local.owner_password },
    var.bootstrap_admin.email == "" ? {} : {
      BOOTSTRAP_ADMIN_TOKEN = { secret = var.bootstrap_admin.token_secret, version = var.bootstrap_admin.token_version }
    },
  )
}

resource "google_cloud_run_v2_job" "migrate" {
  project             = var.project_id
  name                = "${var.name}-migrate"
  location            = var.region
  deletion_protection = var.deletion_protection
  labels              = var.labels

  template {
    task_count  = 1
    parallelism = 1
    labels      = var.labels

    template {
      service_account       = google_service_account.jobs.email
      encryption_key        = var.kms_key_id
      execution_environment = "EXECUTION_ENVIRONMENT_GEN2"
      timeout               = "600s"
      # A failed migration is investigated, not retried blindly.
      max_retries = 0

      vpc_access {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          subnetwork = local.jobs_vpc.subnet
          tags       = [local.jobs_vpc.tag]
        }
      }

      volumes {
        name = "db-ca"
        secret {
          secret = var.database.ca_secret
          items {
            version = var.database.ca_version
            path    = "server-ca.pem"
          }
        }
      }

      containers {
        name  = "migrate"
        image = var.image
        args  = ["migrate"]

        resources {
          limits = {
            cpu    = "1"
            memory = "512Mi"
          }
        }

        volume_mounts {
          name       = "db-ca"
          mount_path = local.db_ca_dir
        }

        dynamic "env" {
          for_each = { for k, v in local.migrate_environment : k => v if v != "" }
          content {
            name  = env.key
            value = env.value
          }
        }

        # The owner's password and the bootstrap token (not TOKEN_PEPPER).
        dynamic "env" {
          for_each = local.migrate_secrets
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = env.value.secret
                version = env.value.version
              }
            }
          }
        }
      }
    }
  }

  lifecycle {
    # Cloud Build points the job at each new image (gcloud run jobs update --image).
    ignore_changes = [
      template[0].template[0].containers[0].image,
      client,
      client_version,
    ]
  }
}

resource "google_cloud_run_v2_job" "purge" {
  project             = var.project_id
  name                = "${var.name}-audit-purge"
  location            = var.region
  deletion_protection = var.deletion_protection
  labels              = var.labels

  template {
    task_count  = 1
    parallelism = 1
    labels      = var.labels

    template {
      service_account       = google_service_account.jobs.email
      encryption_key        = var.kms_key_id
      execution_environment = "EXECUTION_ENVIRONMENT_GEN2"
      timeout               = "1800s"
      # Idempotent (deletes what is past the retention): one retry on a transient failure.
      max_retries = 1

      vpc_access {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          subnetwork = local.jobs_vpc.subnet
          tags       = [local.jobs_vpc.tag]
        }
      }

      volumes {
        name = "db-ca"
        secret {
          secret = var.database.ca_secret
          items {
            version = var.database.ca_version
            path    = "server-ca.pem"
          }
        }
      }

      containers {
        name  = "audit-purge"
        image = var.image
        args  = ["audit", "purge"]

        resources {
          limits = {
            cpu    = "1"
            memory = "512Mi"
          }
        }

        volume_mounts {
          name       = "db-ca"
          mount_path = local.db_ca_dir
        }

        dynamic "env" {
          for_each = local.purge_environment
          content {
            name  = env.key
            value = env.value
          }
        }

        env {
          name = "DATABASE_PASSWORD"
          value_source {
            secret_key_ref {
              secret  = local.owner_password.secret
              version = local.owner_password.version
            }
          }
        }
      }
    }
  }

  lifecycle {
    # Cloud Build points the job at each new image after the migration.
    ignore_changes = [
      template[0].template[0].containers[0].image,
      client,
      client_version,
    ]
  }
}

# Daily at var.audit_purge_schedule (Asia/Tokyo): POST .../jobs/<name>:run with the scheduler's
# own identity (roles/run.invoker on this job only, iam.tf). Cloud Scheduler retries a failed
# start; the job retries a failed run once.
resource "google_cloud_scheduler_job" "audit_purge" {
  project          = var.project_id
  region           = var.region
  name             = "${var.name}-audit-purge"
  description      = "todo-api: delete audit records older than ${var.audit_retention_days} days"
  schedule         = var.audit_purge_schedule
  time_zone        = "Asia/Tokyo"
  attempt_deadline = "180s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "60s"
    max_backoff_duration = "600s"
  }

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.purge.name}:run"

    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_cloud_run_v2_job_iam_member.scheduler_runs_purge]
}

resource "google_cloud_run_v2_job" "db_setup" {
  project             = var.project_id
  name                = "${var.name}-db-setup"
  location            = var.region
  deletion_protection = var.deletion_protection
  labels              = var.labels

  template {
    task_count  = 1
    parallelism = 1
    labels      = var.labels

    template {
      service_account       = google_service_account.jobs.email
      encryption_key        = var.kms_key_id
      execution_environment = "EXECUTION_ENVIRONMENT_GEN2"
      timeout               = "300s"
      max_retries           = 0

      vpc_access {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          subnetwork = local.jobs_vpc.subnet
          tags       = [local.jobs_vpc.tag]
        }
      }

      volumes {
        name = "db-ca"
        secret {
          secret = var.database.ca_secret
          items {
            version = var.database.ca_version
            path    = "server-ca.pem"
          }
        }
      }

      containers {
        name    = "db-setup"
        image   = var.psql_image
        command = ["/bin/sh", "-c"]
        args    = ["printf '%s\\n' \"$SETUP_SQL\" | psql --no-psqlrc --quiet --file=-"]

        resources {
          limits = {
            cpu    = "1"
            memory = "512Mi"
          }
        }

        volume_mounts {
          name       = "db-ca"
          mount_path = local.db_ca_dir
        }

        dynamic "env" {
          for_each = {
            SETUP_SQL     = file("${path.module}/../../../sql/db-setup.sql")
            PGHOST        = var.database.host
            PGPORT        = "5432"
            PGDATABASE    = var.database.name
            PGUSER        = var.database.owner_user
            PGSSLMODE     = "verify-full"
            PGSSLROOTCERT = local.db_ca_path
            PGAPPNAME     = "todo-api-db-setup"
            APP_DB_USER   = var.database.user
          }
          content {
            name  = env.key
            value = env.value
          }
        }

        env {
          name = "PGPASSWORD"
          value_source {
            secret_key_ref {
              secret  = local.owner_password.secret
              version = local.owner_password.version
            }
          }
        }
        env {
          name = "APP_DB_PASSWORD"
          value_source {
            secret_key_ref {
              secret  = var.database.password_secret
              version = var.database.password_version
            }
          }
        }
      }
    }
  }
}
