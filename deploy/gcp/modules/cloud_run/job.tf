# One-off `todo-api migrate`: Cloud Build updates its image and runs it with --wait before it
# deploys a new revision, so a failed migration stops the deploy.
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
      service_account       = google_service_account.run.email
      encryption_key        = var.kms_key_id
      execution_environment = "EXECUTION_ENVIRONMENT_GEN2"
      timeout               = "600s"
      # A failed migration is investigated, not retried blindly.
      max_retries = 0

      vpc_access {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          subnetwork = var.subnet_id
          tags       = [var.egress_tag]
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

        env {
          name  = "DATABASE_URL"
          value = local.database_url
        }
        env {
          name  = "LOG_FORMAT"
          value = "json"
        }
        env {
          name  = "RUST_LOG"
          value = var.rust_log
        }
        env {
          name  = "GOOGLE_CLOUD_PROJECT"
          value = var.project_id
        }
        # The job reads the database password only (not TOKEN_PEPPER).
        env {
          name = "DATABASE_PASSWORD"
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

  lifecycle {
    # Cloud Build points the job at each new image (gcloud run jobs update --image).
    ignore_changes = [
      template[0].template[0].containers[0].image,
      client,
      client_version,
    ]
  }
}
