output "network_id" {
  description = "ID of the VPC."
  value       = google_compute_network.vpc.id
}

output "network_name" {
  description = "Name of the VPC."
  value       = google_compute_network.vpc.name
}

output "subnet_ids" {
  description = "Subnet IDs by key."
  value       = { for k, s in google_compute_subnetwork.subnet : k => s.id }
}

output "run_subnet_id" {
  description = "Subnet Cloud Run's Direct VPC egress uses."
  value       = google_compute_subnetwork.subnet[var.run_subnet].id
}

output "run_egress_tag" {
  description = "Network tag for Cloud Run's Direct VPC egress."
  value       = var.run_egress_tag
}

output "private_services_network_id" {
  description = "The VPC ID, available only once the private services peering exists: give this (not network_id) to Cloud SQL, which cannot take a private IP before the peering."
  value       = google_compute_network.vpc.id
  depends_on  = [google_service_networking_connection.private_services]
}

output "private_services_range_name" {
  description = "Name of the reserved private services range."
  value       = google_compute_global_address.private_services.name
}
