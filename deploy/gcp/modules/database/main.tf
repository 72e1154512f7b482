# Cloud SQL for PostgreSQL 15: private IP only, TLS required, CMEK, 7 daily backups with
# point-in-time recovery, HA (REGIONAL) and deletion protection in prod, a read replica, Query
# Insights. Secure defaults follow cloud-foundation-fabric's cloudsql-instance module.

resource "google_sql_database_instance" "primary" {
  #checkov:skip=CKV_GCP_79:The deployment requirements fix PostgreSQL 15; upgrading the major is a deliberate, tested change, not a default.
  #checkov:skip=CKV_GCP_6:TLS is required (ssl_mode ENCRYPTED_ONLY) on a private-IP-only instance and clients verify the server (verify-full against the shared CA); client certificates are not used because the passwords come from Secret Manager.
  #checkov:skip=CKV2_GCP_13:log_duration logs every statement of the API and floods Cloud Logging (a cost the budget in docs/deploy-gcp.md does not carry); Query Insights records per-query latency instead.
  project             = var.project_id
  name                = "${var.name}-pg"
  region              = var.region
  database_version    = "POSTGRES_15"
  encryption_key_name = var.kms_key_id
  deletion_protection = var.deletion_protection

  settings {
    tier                        = var.tier
    edition                     = "ENTERPRISE"
    availability_type           = var.availability_type
    deletion_protection_enabled = var.deletion_protection
    disk_type                   = "PD_SSD"
    disk_size                   = 10
    disk_autoresize             = true
    disk_autoresize_limit       = var.disk_autoresize_limit
    user_labels                 = var.labels

    ip_configuration {
      # Private IP only: reachable from the VPC (Cloud Run's Direct VPC egress), no public IP.
      ipv4_enabled       = false
      private_network    = var.network_id
      allocated_ip_range = var.allocated_ip_range
      ssl_mode           = "ENCRYPTED_ONLY"
      # Google-managed shared CA (Certificate Authority Service): the server certificate names
      # the instance's DNS name (dns_name), which the clients dial through the private zone in
      # dns.tf, so they can verify the server with sslmode=verify-full. The default per-instance
      # CA signs a certificate that names neither the private IP nor a name the VPC resolves.
      server_ca_mode = "GOOGLE_MANAGED_CAS_CA"
    }

    backup_configuration {
      enabled                        = true
      start_time                     = var.backup_start_time
      location                       = var.backup_location
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = var.backup_retention_days

      backup_retention_settings {
        retained_backups = var.backup_retention_days
        retention_unit   = "COUNT"
      }
    }

    # Sunday 18:00 UTC = Monday 03:00 JST, the quietest hour of a Japanese business API.
    maintenance_window {
      day          = 7
      hour         = 18
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      query_string_length     = 1024
      record_application_tags = true
      record_client_address   = false
      query_plans_per_minute  = 5
    }

    password_validation_policy {
      enable_password_policy      = true
      min_length                  = 16
      complexity                  = "COMPLEXITY_DEFAULT"
      disallow_username_substring = true
    }

    # Logging flags the CIS benchmark asks for (checkov CKV_GCP_51-57, 108-111). Statement text
    # is logged for DDL only and pgaudit records role and DDL changes; the API's own queries are
    # measured by Query Insights instead of the server log. (Written out, not generated: checkov
    # cannot expand a dynamic block here.)
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "pgaudit.log"
      value = "role,ddl"
    }
  }
}

# Read replica, passed to the service as DATABASE_READ_URL for the read routing of the product
# contract (reads on the replica, a user's reads on the primary for a short window after its
# writes; a lagging or unreachable replica sends them to the primary: docs/replicas.md).
resource "google_sql_database_instance" "replica" {
  #checkov:skip=CKV_GCP_79:The deployment requirements fix PostgreSQL 15; a replica runs its primary's major.
  #checkov:skip=CKV_GCP_6:TLS is required (ssl_mode ENCRYPTED_ONLY) on a private-IP-only instance; client certificates are not used (see the primary).
  #checkov:skip=CKV2_GCP_13:log_duration logs every statement and floods Cloud Logging; Query Insights records per-query latency instead.
  count = var.read_replica ? 1 : 0

  project              = var.project_id
  name                 = "${var.name}-pg-replica"
  region               = var.region
  database_version     = "POSTGRES_15"
  master_instance_name = google_sql_database_instance.primary.name
  encryption_key_name  = var.kms_key_id
  deletion_protection  = var.deletion_protection

  settings {
    tier                        = var.tier
    edition                     = "ENTERPRISE"
    availability_type           = "ZONAL"
    deletion_protection_enabled = var.deletion_protection
    disk_type                   = "PD_SSD"
    disk_autoresize             = true
    disk_autoresize_limit       = var.disk_autoresize_limit
    user_labels                 = var.labels

    ip_configuration {
      ipv4_enabled       = false
      private_network    = var.network_id
      allocated_ip_range = var.allocated_ip_range
      ssl_mode           = "ENCRYPTED_ONLY"
      # Google-managed shared CA (Certificate Authority Service): the server certificate names
      # the instance's DNS name (dns_name), which the clients dial through the private zone in
      # dns.tf, so they can verify the server with sslmode=verify-full. The default per-instance
      # CA signs a certificate that names neither the private IP nor a name the VPC resolves.
      server_ca_mode = "GOOGLE_MANAGED_CAS_CA"
    }

    insights_config {
      query_insights_enabled  = true
      query_string_length     = 1024
      record_application_tags = true
      record_client_address   = false
    }

    # The primary's logging flags (a replica keeps its own flags).
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "pgaudit.log"
      value = "role,ddl"
    }
  }
}

resource "google_sql_database" "app" {
  project  = var.project_id
  instance = google_sql_database_instance.primary.name
  name     = var.database_name
  # The database holds the only copy of the data: never drop it from Terraform.
  deletion_policy = "ABANDON"
}
