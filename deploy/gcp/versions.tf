terraform {
  # 1.11: write-only attributes (database password and TOKEN_PEPPER never enter the state).
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 6.27: google_sql_user.password_wo and secret_data_wo.
      version = "~> 6.27"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.27"
    }
    random = {
      source = "hashicorp/random"
      # 3.7: ephemeral random_password.
      version = "~> 3.7"
    }
  }

  # Partial configuration: one state per environment in a versioned GCS bucket, e.g.
  #   terraform init -backend-config="bucket=<project>-tfstate" -backend-config="prefix=todo-api/dev"
  # (docs/deploy-gcp.md creates the bucket).
  backend "gcs" {}
}

provider "google" {
  project        = var.project_id
  region         = local.region
  default_labels = local.labels
}

provider "google-beta" {
  project        = var.project_id
  region         = local.region
  default_labels = local.labels
}
