# The required custom-mode VPC: tokyo and osaka subnets, Cloud Router + Cloud NAT per region,
# firewall rules, and private services access for Cloud SQL's private IP.

resource "google_compute_network" "vpc" {
  project                 = var.project_id
  name                    = "${var.name}-vpc"
  description             = "todo-api VPC (custom mode: no auto subnets in every region)"
  auto_create_subnetworks = false
  # GLOBAL so the osaka subnet and the Cloud SQL peering share routes with tokyo.
  routing_mode = "GLOBAL"
}

resource "google_compute_subnetwork" "subnet" {
  for_each = var.subnets

  project       = var.project_id
  name          = "${var.name}-${each.key}"
  region        = each.value.region
  network       = google_compute_network.vpc.id
  ip_cidr_range = each.value.cidr
  # Workloads without external IPs (Cloud Run's egress, future GKE nodes) reach Google APIs
  # such as Secret Manager and Cloud Trace through Private Google Access.
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_SEC"
    flow_sampling        = var.flow_log_sampling
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Cloud NAT gives outbound internet to private workloads without public IPs. Routers and NAT
# gateways are regional, so each subnet region gets one.
resource "google_compute_router" "router" {
  for_each = toset([for s in values(var.subnets) : s.region])

  project = var.project_id
  name    = "${var.name}-router-${each.key}"
  region  = each.key
  network = google_compute_network.vpc.id
}

resource "google_compute_router_nat" "nat" {
  for_each = google_compute_router.router

  project                             = var.project_id
  name                                = "${var.name}-nat-${each.key}"
  region                              = each.key
  router                              = each.value.name
  nat_ip_allocate_option              = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat  = "ALL_SUBNETWORKS_ALL_IP_RANGES"
  enable_endpoint_independent_mapping = false

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

# Private services access: Cloud SQL gets its private IP from this reserved range over a VPC
# peering with Google's service producer network. The peering must exist before the instance.
resource "google_compute_global_address" "private_services" {
  project       = var.project_id
  name          = "${var.name}-private-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  address       = split("/", var.private_service_range)[0]
  prefix_length = tonumber(split("/", var.private_service_range)[1])
  network       = google_compute_network.vpc.id
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.vpc.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
  # Keep the peering on destroy until Cloud SQL is gone (deleting it first fails).
  deletion_policy = "ABANDON"
}
