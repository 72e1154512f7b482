# Firewall rules. Cloud Run itself is not behind VPC firewalls (its ingress is the service's
# `ingress` setting); these rules guard anything attached to the VPC (the GKE alternative, any
# VM) and the Direct VPC egress traffic of Cloud Run.

locals {
  # Google Front Ends of the external Application Load Balancer and the health checkers.
  # https://cloud.google.com/load-balancing/docs/health-check-concepts#ip-ranges
  google_lb_ranges = ["130.211.0.0/22", "35.191.0.0/16"]
  private_ranges   = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
}

# The required allow-https-http (80/443 to the http-server tag). The source is narrowed from
# 0.0.0.0/0 to the load balancer ranges: clients reach the service through the HTTPS load
# balancer only, never a VM's address.
resource "google_compute_firewall" "allow_https_http" {
  project     = var.project_id
  name        = "${var.name}-allow-https-http"
  network     = google_compute_network.vpc.name
  description = "HTTP(S) from Google load balancers and health checkers to tagged backends"
  direction   = "INGRESS"
  priority    = 1000

  allow {
    protocol = "tcp"
    ports    = ["80", "443"]
  }

  source_ranges = local.google_lb_ranges
  target_tags   = [var.http_target_tag]

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

# The required allow-cloud-run (8080 from the load balancer ranges): the application port of
# backends that are VMs or GKE nodes (a serverless NEG needs no firewall rule).
resource "google_compute_firewall" "allow_lb_to_app" {
  project     = var.project_id
  name        = "${var.name}-allow-lb-to-app"
  network     = google_compute_network.vpc.name
  description = "Application port 8080 from Google load balancers and health checkers"
  direction   = "INGRESS"
  priority    = 1000

  allow {
    protocol = "tcp"
    ports    = ["8080"]
  }

  source_ranges = local.google_lb_ranges
  target_tags   = [var.app_target_tag]

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

# Explicit default deny for ingress, logged, so blocked attempts show up in Cloud Logging
# (the implied deny rule of a VPC is never logged).
resource "google_compute_firewall" "deny_all_ingress" {
  project     = var.project_id
  name        = "${var.name}-deny-all-ingress"
  network     = google_compute_network.vpc.name
  description = "Default deny of all other ingress, logged"
  direction   = "INGRESS"
  priority    = 65534

  deny {
    protocol = "all"
  }

  source_ranges = ["0.0.0.0/0"]

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

# Cloud Run's Direct VPC egress sends only private ranges into the VPC. Of those it may reach
# PostgreSQL on the private services range and nothing else (a compromised instance cannot
# scan the VPC).
resource "google_compute_firewall" "allow_run_to_sql" {
  project            = var.project_id
  name               = "${var.name}-allow-run-to-sql"
  network            = google_compute_network.vpc.name
  description        = "Cloud Run egress to Cloud SQL (PostgreSQL 5432) on the private services range"
  direction          = "EGRESS"
  priority           = 1000
  destination_ranges = [var.private_service_range]
  target_tags        = [var.run_egress_tag]

  allow {
    protocol = "tcp"
    ports    = ["5432"]
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_firewall" "deny_run_private_egress" {
  project            = var.project_id
  name               = "${var.name}-deny-run-private-egress"
  network            = google_compute_network.vpc.name
  description        = "Cloud Run egress to any other private address, denied and logged"
  direction          = "EGRESS"
  priority           = 2000
  destination_ranges = local.private_ranges
  target_tags        = [var.run_egress_tag]

  deny {
    protocol = "all"
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}
