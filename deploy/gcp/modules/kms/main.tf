# Customer-managed encryption keys (CMEK), one key per service so a key can be disabled or
# audited per data set, each usable only by that service's Google-managed service agent.
# (The idea of terraform-google-cloud-run's secure-cloud-run: Cloud Run and its data under
# CMEK with scheduled rotation.)

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # key name => the service whose agent uses it, and that agent's documented address domain
  # (google_project_service_identity does not return an email for every service).
  services = {
    run      = { api = "run.googleapis.com", agent_domain = "serverless-robot-prod.iam.gserviceaccount.com" }
    sql      = { api = "sqladmin.googleapis.com", agent_domain = "gcp-sa-cloud-sql.iam.gserviceaccount.com" }
    secrets  = { api = "secretmanager.googleapis.com", agent_domain = "gcp-sa-secretmanager.iam.gserviceaccount.com" }
    registry = { api = "artifactregistry.googleapis.com", agent_domain = "gcp-sa-artifactregistry.iam.gserviceaccount.com" }
  }
}

resource "google_kms_key_ring" "ring" {
  project  = var.project_id
  name     = "${var.name}-keyring"
  location = var.region
}

resource "google_kms_crypto_key" "key" {
  for_each = local.services

  name                       = each.key
  key_ring                   = google_kms_key_ring.ring.id
  purpose                    = "ENCRYPT_DECRYPT"
  rotation_period            = var.rotation_period
  destroy_scheduled_duration = var.destroy_scheduled_duration

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = "SOFTWARE"
  }

  # Destroying a key makes every database, secret and image under it unreadable, so Terraform
  # refuses to plan that. Tearing an environment down: see docs/deploy-gcp.md.
  lifecycle {
    prevent_destroy = true
  }
}

# Service agents exist only once something asks for them; this creates them so the grants
# below can name them before the first Cloud SQL instance, secret or image exists.
resource "google_project_service_identity" "agent" {
  provider = google-beta
  for_each = local.services

  project = var.project_id
  service = each.value.api
}

resource "google_kms_crypto_key_iam_member" "agent" {
  for_each = local.services

  crypto_key_id = google_kms_crypto_key.key[each.key].id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:service-${data.google_project.this.number}@${each.value.agent_domain}"

  depends_on = [google_project_service_identity.agent]
}
