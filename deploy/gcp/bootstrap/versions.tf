terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.27"
    }
  }

  # Local state on purpose: this configuration creates the bucket every other state lives in.
  # Keep terraform.tfstate of this directory (it holds no secret), or move it into the new bucket
  # afterwards (docs/deploy-gcp.md, "From an empty project to the first deploy").
}

provider "google" {
  project = var.project_id
  region  = var.region
}
