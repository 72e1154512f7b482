# The Terraform state bucket of one project (run once per project, before deploy/gcp): versioned,
# uniform bucket-level access, public access prevented, encrypted with its own CMEK key (90-day
# rotation), old versions deleted after noncurrent_version_days. The GCS backend locks the state
# with a lock object of its own: nothing else is needed.

data "google_project" "this" {
  project_id = var.project_id
}

data "google_storage_project_service_account" "gcs" {
  project = var.project_id
}

resource "google_project_service" "apis" {
  for_each = toset(["cloudkms.googleapis.com", "storage.googleapis.com"])

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

resource "google_kms_key_ring" "state" {
  project  = var.project_id
  name     = "todo-api-tfstate"
  location = var.region

  depends_on = [google_project_service.apis]
}

resource "google_kms_crypto_key" "state" {
  name            = "tfstate"
  key_ring        = google_kms_key_ring.state.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = "7776000s" # 90 days

  lifecycle {
    prevent_destroy = true
  }
}

# Cloud Storage encrypts with the key as its service agent.
resource "google_kms_crypto_key_iam_member" "gcs" {
  crypto_key_id = google_kms_crypto_key.state.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

resource "google_storage_bucket" "state" {
  #checkov:skip=CKV_GCP_62:Bucket access is in the Cloud Audit Logs (Data Access logs for Cloud Storage); usage logs would need a second bucket for a few reads a day.
  project                     = var.project_id
  name                        = "${var.project_id}-tfstate"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = google_kms_crypto_key.state.id
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
    }
    action {
      type = "Delete"
    }
  }

  labels = {
    app        = "todo-api"
    purpose    = "terraform-state"
    managed-by = "terraform"
  }

  depends_on = [google_kms_crypto_key_iam_member.gcs]

  lifecycle {
    prevent_destroy = true
  }
}
