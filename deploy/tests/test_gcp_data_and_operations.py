"""Cloud SQL, Secret Manager, monitoring, Artifact Registry and Cloud Build in deploy/gcp."""

from __future__ import annotations

import re

import pytest

from conftest import DEPLOY, attr, blocks, load_module

GCP = DEPLOY / "gcp"


def module(name: str):
    return load_module(f"gcp/modules/{name}")


def single(body: dict, key: str) -> dict:
    found = blocks(body, key)
    assert len(found) == 1, f"expected one {key} block, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module")
def root():
    return load_module("gcp")


# --- Cloud SQL -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def database():
    return module("database")


def test_cloud_sql_postgres_15_private_tls_insights(database):
    for name in ("primary", "replica"):
        instance = database.resource("google_sql_database_instance", name)
        assert attr(instance, "database_version") == "POSTGRES_15"
        assert attr(instance, "encryption_key_name") == "${var.kms_key_id}"
        assert attr(instance, "deletion_protection") == "${var.deletion_protection}"
        settings = single(instance, "settings")
        assert attr(settings, "deletion_protection_enabled") == "${var.deletion_protection}"
        ip = single(settings, "ip_configuration")
        assert attr(ip, "ipv4_enabled") is False, "private IP only"
        assert attr(ip, "ssl_mode") == "ENCRYPTED_ONLY", "SSL required"
        assert attr(single(settings, "insights_config"), "query_insights_enabled") is True
    primary = single(database.resource("google_sql_database_instance", "primary"), "settings")
    assert attr(primary, "availability_type") == "${var.availability_type}"
    assert attr(primary, "tier") == "${var.tier}"


def test_backups_seven_days_with_point_in_time_recovery(database):
    assert database.default("backup_retention_days") == 7
    settings = single(database.resource("google_sql_database_instance", "primary"), "settings")
    backup = single(settings, "backup_configuration")
    assert attr(backup, "enabled") is True
    assert attr(backup, "point_in_time_recovery_enabled") is True
    assert attr(backup, "transaction_log_retention_days") == "${var.backup_retention_days}"
    retention = single(backup, "backup_retention_settings")
    assert attr(retention, "retained_backups") == "${var.backup_retention_days}"
    assert attr(retention, "retention_unit") == "COUNT"


def test_read_replica_follows_the_primary(database):
    replica = database.resource("google_sql_database_instance", "replica")
    assert attr(replica, "count") == "${var.read_replica ? 1 : 0}"
    assert attr(replica, "master_instance_name") == "${google_sql_database_instance.primary.name}"


def test_database_flags_on_primary_and_replica(database):
    for name in ("primary", "replica"):
        settings = single(database.resource("google_sql_database_instance", name), "settings")
        flags = {attr(f, "name"): attr(f, "value") for f in blocks(settings, "database_flags")}
        assert flags["log_connections"] == "on" and flags["cloudsql.enable_pgaudit"] == "on", name
        assert flags["log_min_duration_statement"] == "-1"


def test_password_is_write_only_and_lands_in_its_secret(database):
    user = database.resource("google_sql_user", "app")
    assert "password" not in user, "a plain password would be stored in the state"
    assert attr(user, "password_wo") == "${ephemeral.random_password.app.result}"
    version = database.resource("google_secret_manager_secret_version", "password")
    assert attr(version, "secret_data_wo") == "${ephemeral.random_password.app.result}"
    assert attr(version, "secret_data_wo_version") == attr(user, "password_wo_version")


# --- Secret Manager ------------------------------------------------------------------------


def test_secrets_readable_only_by_their_accounts(root):
    secrets = module("secrets")
    readers = {v["secret_id"].split("}-")[-1]: v["readers"] for v in secrets.locals["secrets"].values()}
    assert readers == {
        "database-password": ["runtime", "jobs"],  # the service; db-setup sets it on the login
        "token-pepper": ["runtime"],
        "database-owner-password": ["jobs"],
        "bootstrap-admin-token": ["jobs"],
        "database-server-ca": ["runtime", "jobs"],
    }
    assert secrets.locals["readers"] == {"runtime": "${var.accessor_email}", "jobs": "${var.jobs_accessor_email}"}
    accessor = secrets.resource("google_secret_manager_secret_iam_member", "accessor")
    assert attr(accessor, "role") == "roles/secretmanager.secretAccessor"
    assert attr(accessor, "member") == "serviceAccount:${each.value.email}"
    assert attr(root.modules["secrets"], "accessor_email") == "${module.cloud_run.service_account_email}"
    assert attr(root.modules["secrets"], "jobs_accessor_email") == "${module.cloud_run.jobs_service_account_email}"

    # No project-wide secret access anywhere in the GCP configuration.
    for path in GCP.rglob("*.tf"):
        text = path.read_text()
        for m in re.finditer(r'resource "google_project_iam_[a-z]+" "[^"]+" \{(.*?)\n\}', text, re.S):
            assert "secretAccessor" not in m.group(1), path


# --- monitoring ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def monitoring():
    return module("monitoring")


def threshold(policy: dict, index: int = 0) -> dict:
    return single(blocks(policy, "conditions")[index], "condition_threshold")


def test_error_rate_alert_above_five_percent(monitoring):
    assert monitoring.default("error_rate_threshold") == 0.05
    cond = threshold(monitoring.resource("google_monitoring_alert_policy", "error_rate"))
    assert attr(cond, "threshold_value") == "${var.error_rate_threshold}"
    assert attr(cond, "comparison") == "COMPARISON_GT"
    assert 'response_code_class = \\"5xx\\"' in attr(cond, "filter")
    assert "denominator_filter" in cond, "a ratio of all requests"


def test_latency_alert_p95_above_one_second(monitoring):
    assert monitoring.default("latency_p95_threshold_ms") == 1000
    cond = threshold(monitoring.resource("google_monitoring_alert_policy", "latency"))
    assert attr(cond, "threshold_value") == "${var.latency_p95_threshold_ms}"
    assert "run.googleapis.com/request_latencies" in attr(cond, "filter")
    assert attr(single(cond, "aggregations"), "cross_series_reducer") == "REDUCE_PERCENTILE_95"


def test_instance_count_alert_below_the_minimum(root, monitoring):
    assert attr(root.modules["monitoring"], "min_instances") == "${local.cloud_run.min_instances}"
    policy = monitoring.resource("google_monitoring_alert_policy", "instances")
    cond = threshold(policy)
    assert attr(cond, "threshold_value") == "${var.min_instances}"
    assert attr(cond, "comparison") == "COMPARISON_LT"
    assert "run.googleapis.com/container/instance_count" in attr(cond, "filter")
    assert blocks(blocks(policy, "conditions")[1], "condition_absent")


def test_cloud_sql_connection_failure_alert(monitoring):
    policy = monitoring.resource("google_monitoring_alert_policy", "sql_connections")
    filters = [attr(threshold(policy, i), "filter") for i in range(len(blocks(policy, "conditions")))]
    assert any("google_logging_metric.sql_connection_errors.name" in f for f in filters)
    assert any("cloudsql.googleapis.com/database/up" in f for f in filters)
    metric = monitoring.resource("google_logging_metric", "sql_connection_errors")
    assert 'resource.type = "cloudsql_database"' in attr(metric, "filter")


def test_uptime_check_and_5xx_log_metric(monitoring):
    check = monitoring.resource("google_monitoring_uptime_check_config", "health")
    http = single(check, "http_check")
    assert attr(http, "path") == "/health-check"
    assert attr(http, "port") == 443 and attr(http, "use_ssl") is True
    resource = single(check, "monitored_resource")
    assert attr(resource, "labels")["host"] == "${var.domain}"
    assert len(attr(check, "selected_regions")) >= 3

    metric = monitoring.resource("google_logging_metric", "http_5xx")
    assert "httpRequest.status >= 500" in attr(metric, "filter")


def test_every_alert_notifies_the_channels(monitoring):
    for name, policy in monitoring.resources["google_monitoring_alert_policy"].items():
        assert attr(policy, "notification_channels") == "${local.channels}", name
        assert blocks(policy, "documentation"), name


# --- registry, build, outputs --------------------------------------------------------------


def test_artifact_registry_repository():
    repo = module("registry").resource("google_artifact_registry_repository", "docker")
    assert attr(repo, "format") == "DOCKER"
    assert attr(repo, "kms_key_name") == "${var.kms_key_id}"
    assert attr(single(repo, "docker_config"), "immutable_tags") is True


def test_cloud_build_trigger_runs_our_cloudbuild_file():
    build = module("build")
    trigger = build.resource("google_cloudbuild_trigger", "deploy")
    assert attr(trigger, "filename") == "deploy/gcp/cloudbuild.yaml"
    assert (DEPLOY.parent / attr(trigger, "filename")).is_file()
    assert attr(trigger, "service_account") == "${google_service_account.build.id}"
    assert attr(single(trigger, "approval_config"), "approval_required") == "${var.require_approval}"
    roles = [attr(r, "role") for rtype, named in build.resources.items() if rtype.endswith("_iam_member")
             for r in named.values()]
    assert "roles/run.admin" not in roles and "roles/editor" not in roles


def test_outputs(root):
    assert attr(root.outputs["load_balancer_ip"], "value") == "${module.load_balancer.ip_address}"
    assert attr(root.outputs["cloud_run_url"], "value") == "${module.cloud_run.service_uri}"
    assert attr(root.outputs["cloud_sql_connection_name"], "value") == "${module.database.connection_name}"


def test_kms_keys_rotate_within_90_days():
    kms = module("kms")
    assert kms.default("rotation_period") == "7776000s"
    key = kms.resource("google_kms_crypto_key", "key")
    assert attr(single(key, "lifecycle"), "prevent_destroy") is True
