# Verified TLS to Cloud SQL's private IP. With the shared CA (server_ca_mode GOOGLE_MANAGED_CAS_CA)
# the server certificate names the instance's DNS name, e.g.
# 1a2b3c4d5e6f.1a2b3c4d5e6f.asia-northeast1.sql.goog.; Cloud SQL publishes no record for it on
# private services access, so a private zone per instance resolves it to the private IP, for
# this VPC only. The CA certificates (shared by every instance of the region) go to a secret that
# the service and the jobs mount as a file (sslrootcert).

locals {
  instances = merge(
    { primary = google_sql_database_instance.primary },
    var.read_replica ? { replica = google_sql_database_instance.replica[0] } : {},
  )
}

resource "google_dns_managed_zone" "sql" {
  #checkov:skip=CKV_GCP_16:DNSSEC cannot be enabled on a private zone; this one answers only inside the VPC, for one name.
  for_each = local.instances

  project     = var.project_id
  name        = "${var.name}-sql-${each.key}"
  dns_name    = each.value.dns_name
  description = "Private name of the Cloud SQL ${each.key} (the name its server certificate carries)"
  visibility  = "private"
  labels      = var.labels

  private_visibility_config {
    networks {
      network_url = var.network_id
    }
  }
}

resource "google_dns_record_set" "sql" {
  for_each = local.instances

  project      = var.project_id
  managed_zone = google_dns_managed_zone.sql[each.key].name
  name         = each.value.dns_name
  type         = "A"
  ttl          = 300
  rrdatas      = [each.value.private_ip_address]
}

# The instances' trusted server CAs (current and, during a rotation, the next one).
data "google_sql_ca_certs" "primary" {
  project  = var.project_id
  instance = google_sql_database_instance.primary.name
}

resource "google_secret_manager_secret_version" "server_ca" {
  secret = var.server_ca_secret_id
  # Public certificates, not a secret: Secret Manager is only the way to mount a file on Cloud Run.
  secret_data     = join("", [for c in data.google_sql_ca_certs.primary.certs : c.cert])
  deletion_policy = "DISABLE"
}
