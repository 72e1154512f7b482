output "repository_id" {
  description = "Name of the Docker repository."
  value       = google_artifact_registry_repository.docker.repository_id
}

output "repository_url" {
  description = "Docker repository URL (<region>-docker.pkg.dev/<project>/<repository>); images are <url>/todo-api:<commit>."
  value       = "${google_artifact_registry_repository.docker.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.docker.repository_id}"
}
