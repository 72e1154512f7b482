# External Application Load Balancer (global, EXTERNAL_MANAGED) in front of Cloud Run:
# serverless NEG -> backend service (Cloud Armor, logging) -> HTTPS with a Google-managed
# certificate; port 80 only redirects to HTTPS.

resource "google_compute_global_address" "lb" {
  project      = var.project_id
  name         = "${var.name}-lb-ip"
  address_type = "EXTERNAL"
  ip_version   = "IPV4"
}

resource "google_compute_region_network_endpoint_group" "run" {
  project               = var.project_id
  name                  = "${var.name}-neg"
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = var.service_name
  }
}

# No health_checks here: a backend service with a serverless NEG takes none (the API refuses
# them). Cloud Run's own startup probe (/health-check) and liveness probe (/livez) decide which
# instances get traffic, and the uptime check watches /health-check from outside.
resource "google_compute_backend_service" "app" {
  project               = var.project_id
  name                  = "${var.name}-backend"
  description           = "todo-api on Cloud Run"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTPS"
  security_policy       = google_compute_security_policy.armor.id

  backend {
    group = google_compute_region_network_endpoint_group.run.id
  }

  log_config {
    enable      = true
    sample_rate = var.log_sample_rate
  }

  custom_response_headers = [
    "Strict-Transport-Security: max-age=31536000; includeSubDomains",
  ]
}

resource "google_compute_url_map" "https" {
  project         = var.project_id
  name            = "${var.name}-https"
  default_service = google_compute_backend_service.app.id
}

resource "google_compute_managed_ssl_certificate" "cert" {
  project = var.project_id
  # A managed certificate's domains cannot change in place: a new name per domain set lets
  # the replacement be created before the old one is detached.
  name = "${var.name}-cert-${substr(sha256(var.domain), 0, 8)}"

  managed {
    domains = [var.domain]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_ssl_policy" "tls" {
  project         = var.project_id
  name            = "${var.name}-tls"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"
}

resource "google_compute_target_https_proxy" "https" {
  project          = var.project_id
  name             = "${var.name}-https"
  url_map          = google_compute_url_map.https.id
  ssl_certificates = [google_compute_managed_ssl_certificate.cert.id]
  ssl_policy       = google_compute_ssl_policy.tls.id
}

resource "google_compute_global_forwarding_rule" "https" {
  project               = var.project_id
  name                  = "${var.name}-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  port_range            = "443"
  ip_address            = google_compute_global_address.lb.id
  target                = google_compute_target_https_proxy.https.id
}

# HTTP -> HTTPS: port 80 serves nothing but a 301 to the same URL on https.
resource "google_compute_url_map" "redirect" {
  project = var.project_id
  name    = "${var.name}-http-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "redirect" {
  project = var.project_id
  name    = "${var.name}-http-redirect"
  url_map = google_compute_url_map.redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  project               = var.project_id
  name                  = "${var.name}-http"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  port_range            = "80"
  ip_address            = google_compute_global_address.lb.id
  target                = google_compute_target_http_proxy.redirect.id
}
