output "ip_address" {
  description = "Global IPv4 address of the load balancer (point the domain's A record here)."
  value       = google_compute_global_address.lb.address
}

output "backend_service_name" {
  description = "Name of the backend service (monitoring filters)."
  value       = google_compute_backend_service.app.name
}

output "security_policy_name" {
  description = "Name of the Cloud Armor policy."
  value       = google_compute_security_policy.armor.name
}

output "url_map_name" {
  description = "Name of the HTTPS URL map (load balancer metrics are labelled with it)."
  value       = google_compute_url_map.https.name
}
