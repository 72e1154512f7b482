# Cloud Run v2 service behind the external HTTPS load balancer, with an OpenTelemetry Collector
# sidecar, and the one-off `todo-api migrate` job. Secure defaults after terraform-google-cloud-run
# `secure-cloud-run`: dedicated service account, load-balancer-only ingress, CMEK, VPC egress.

locals {
  # Cloud Run injects PORT=8080 into the ingress container (PORT is reserved: never set it).
  container_port = 8080
  # Prometheus text of the app; reachable only inside the instance (Cloud Run exposes one port).
  metrics_port = 9000

  # Verified TLS: the host is the instance's DNS name, which its server certificate (shared CA)
  # names and the database module's private zone resolves; the CA comes from a mounted secret.
  db_ca_dir  = "/etc/todo-api/cloudsql"
  db_ca_path = "${local.db_ca_dir}/server-ca.pem"
  db_tls     = "sslmode=verify-full&sslrootcert=${local.db_ca_path}"

  database_url       = "postgres://${var.database.user}@${var.database.host}:5432/${var.database.name}?${local.db_tls}"
  owner_database_url = "postgres://${var.database.owner_user}@${var.database.host}:5432/${var.database.name}?${local.db_tls}"

  # Plain environment of the application container (secrets are added separately below).
  container_environment = {
    AUTO_MIGRATE                = "false"
    LOG_FORMAT                  = "json"
    RUST_LOG                    = var.rust_log
    SHUTDOWN_TIMEOUT            = "8"
    GOOGLE_CLOUD_PROJECT        = var.project_id
    DATABASE_URL                = local.database_url
    DATABASE_MAX_CONNECTIONS    = tostring(var.database_max_connections)
    METRICS_ENABLED             = "true"
    METRICS_PORT                = tostring(local.metrics_port)
    OTEL_EXPORTER_OTLP_ENDPOINT = "http://localhost:4317"
    OTEL_SERVICE_NAME           = "todo-api"
    SIGNUP                      = tostring(var.signup)
    AUTHZ                       = var.authz
    # Google's load balancer appends "<client>, <load balancer>" to X-Forwarded-For: the client is
    # the second entry from the right.
    TRUST_PROXY_HEADERS  = "true"
    TRUSTED_PROXIES      = "2"
    AUDIT_RETENTION_DAYS = tostring(var.audit_retention_days)
  }

  read_replica_environment = var.database.replica_host == null ? {} : {
    DATABASE_READ_URL = "postgres://${var.database.user}@${var.database.replica_host}:5432/${var.database.name}?${local.db_tls}"
  }

  # Secrets from Secret Manager, pinned to versions so every instance of a revision sees the
  # same values (a rotation is a new revision, see docs/deploy-gcp.md).
  secret_environment = merge(
    {
      DATABASE_PASSWORD = { secret = var.database.password_secret, version = var.database.password_version }
      TOKEN_PEPPER      = { secret = var.token_pepper.secret, version = var.token_pepper.version }
    },
    var.token_pepper.previous_version == null ? {} : {
      TOKEN_PEPPER_PREVIOUS = { secret = var.token_pepper.secret, version = var.token_pepper.previous_version }
    },
  )
}

resource "google_cloud_run_v2_service" "app" {
  project             = var.project_id
  name                = var.name
  location            = var.region
  description         = "todo-api REST service"
  deletion_protection = var.deletion_protection
  labels              = var.labels

  # Only the external HTTPS load balancer (and so Cloud Armor) reaches the service; the
  # run.app URL answers 404 from the internet.
  ingress = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"

  template {
    service_account                  = google_service_account.run.email
    encryption_key                   = var.kms_key_id
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    max_instance_request_concurrency = var.concurrency
    timeout                          = "${var.request_timeout_seconds}s"
    labels                           = var.labels

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    # Direct VPC egress (no connector VMs to pay for): private-range traffic, i.e. Cloud SQL's
    # private IP, goes through the tokyo subnet; Google APIs are reached directly.
    vpc_access {
      egress = "PRIVATE_RANGES_ONLY"
      network_interfaces {
        subnetwork = var.subnet_id
        tags       = [var.egress_tag]
      }
    }

    # The Cloud SQL server CA as a file (sslrootcert), pinned to its secret version.
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
      name       = "todo-api"
      image      = var.image
      args       = ["serve"]
      depends_on = ["otel-collector"]

      ports {
        name           = "http1"
        container_port = local.container_port
      }

      volume_mounts {
        name       = "db-ca"
        mount_path = local.db_ca_dir
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        # Request-based billing: CPU only while serving (the cost estimates in docs/deploy-gcp.md assume it).
        cpu_idle          = true
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = merge(local.container_environment, local.read_replica_environment)
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = local.secret_environment
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

      # Readiness: an instance gets traffic only once it reaches the database (within 1 s).
      # Up to 2 minutes for a cold start while Cloud SQL fails over.
      startup_probe {
        initial_delay_seconds = 0
        period_seconds        = 5
        timeout_seconds       = 3
        failure_threshold     = 24
        http_get {
          path = "/health-check"
          port = local.container_port
        }
      }

      # Liveness never touches the database, so a database outage does not restart healthy
      # instances.
      liveness_probe {
        initial_delay_seconds = 0
        period_seconds        = 10
        timeout_seconds       = 2
        failure_threshold     = 3
        http_get {
          path = "/livez"
          port = local.container_port
        }
      }
    }

    # OpenTelemetry Collector sidecar: receives the app's OTLP traces on localhost:4317 and
    # exports them to Cloud Trace; scrapes the app's /metrics on localhost:9000 into Managed
    # Service for Prometheus.
    containers {
      name  = "otel-collector"
      image = var.otel_collector_image
      args  = ["--config=env:OTELCOL_CONFIG"]

      env {
        name  = "OTELCOL_CONFIG"
        value = yamlencode(local.otel_collector_config)
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "512Mi"
        }
        cpu_idle = true
      }

      startup_probe {
        period_seconds    = 2
        timeout_seconds   = 1
        failure_threshold = 30
        http_get {
          path = "/"
          port = 13133
        }
      }

      liveness_probe {
        period_seconds    = 30
        timeout_seconds   = 2
        failure_threshold = 3
        http_get {
          path = "/"
          port = 13133
        }
      }
    }
  }

  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  lifecycle {
    # Cloud Build deploys new images (gcloud run deploy --container todo-api --image ...).
    ignore_changes = [
      template[0].containers[0].image,
      client,
      client_version,
    ]
  }
}

# Invocation: Cloud Run checks run.invoker on every request, including those the load balancer
# forwards. The API authenticates its callers itself (X-API-TOKEN), and its clients are not
# Google identities, so the invoker is allUsers; ingress above makes the load balancer (with
# Cloud Armor in front) the only way in. IAP would require Google sign-in of every client.
resource "google_cloud_run_v2_service_iam_member" "public_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.app.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
