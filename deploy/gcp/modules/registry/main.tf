# Artifact Registry Docker repository for the todo-api images (CMEK, immutable tags, cleanup).

resource "google_artifact_registry_repository" "docker" {
  project       = var.project_id
  location      = var.region
  repository_id = var.repository_id
  description   = "todo-api container images"
  format        = "DOCKER"
  kms_key_name  = var.kms_key_id

  # A tag (the commit SHA) always means the same image: what was tested is what runs.
  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.keep_recent_images
    }
  }

  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "604800s"
    }
  }
}
