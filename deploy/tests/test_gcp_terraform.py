"""The GCP Terraform (deploy/gcp) holds the design's numbers.

Parsed offline with python-hcl2 (no provider, no plan): these tests read the configuration as
written and assert the seed's values, the secure defaults and the wiring between modules.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest

from conftest import DEPLOY, attr, blocks, load_module, load_tfvars

GCP = DEPLOY / "gcp"
MODULES = sorted(p.name for p in (GCP / "modules").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def root():
    return load_module("gcp")


def module(name: str):
    return load_module(f"gcp/modules/{name}")


def by_env(expr: Any) -> dict[str, Any]:
    """Evaluate a root `var.environment == "prod" ? <prod> : <dev>` setting for both environments."""
    assert isinstance(expr, str), expr
    m = re.fullmatch(r'\$\{var\.environment == "prod"(?: \? (.+) : (.+))?\}', expr)
    assert m, f"not a per-environment expression: {expr}"
    if m.group(1) is None:
        return {"prod": True, "dev": False}

    def literal(text: str) -> Any:
        text = text.strip()
        if text.startswith('"'):
            return text.strip('"')
        if text in ("true", "false"):
            return text == "true"
        return int(text)

    return {"prod": literal(m.group(1)), "dev": literal(m.group(2))}


def single(body: dict, key: str) -> dict:
    found = blocks(body, key)
    assert len(found) == 1, f"expected one {key} block, found {len(found)}"
    return found[0]


# --- layout and versions -------------------------------------------------------------------


def test_root_uses_only_local_modules(root):
    assert set(root.modules) == {
        "kms", "network", "secrets", "database", "registry", "cloud_run", "load_balancer", "monitoring", "build",
    }
    for name, call in root.modules.items():
        assert attr(call, "source") == f"./modules/{name}", name


@pytest.mark.parametrize("directory", ["."] + [f"modules/{m}" for m in MODULES])
def test_every_root_and_module_pins_terraform_and_providers(directory):
    import hcl2

    with (GCP / directory / "versions.tf").open() as fh:
        doc = hcl2.load(fh)
    terraform = doc["terraform"][0]
    assert attr(terraform, "required_version").startswith(">= 1.11")
    providers = attr(terraform, "required_providers")
    assert providers, directory
    for name, spec in providers.items():
        spec = attr({"spec": spec}, "spec")
        assert spec["version"], f"{directory}: provider {name} has no version constraint"
        assert spec["source"].startswith("hashicorp/"), name


def test_backend_is_a_partial_gcs_block():
    text = (GCP / "versions.tf").read_text()
    assert re.search(r'backend "gcs" \{\}', text), "the GCS backend is left partial (bucket via -backend-config)"


@pytest.mark.parametrize("directory", ["."] + [f"modules/{m}" for m in MODULES])
def test_every_variable_has_a_type_and_a_description(directory):
    mod = load_module(GCP / directory)
    for name, var in mod.variables.items():
        assert attr(var, "description"), f"{directory}: variable {name} has no description"
        assert "type" in var, f"{directory}: variable {name} has no type"


# --- environments --------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_tfvars_name_their_environment_and_set_every_required_variable(root, env):
    tfvars = load_tfvars(f"gcp/{env}.tfvars")
    assert tfvars["environment"] == env
    required = {name for name, var in root.variables.items() if "default" not in var}
    assert required <= set(tfvars), f"{env}.tfvars misses {sorted(required - set(tfvars))}"
    assert set(tfvars) <= set(root.variables), f"{env}.tfvars sets unknown {sorted(set(tfvars) - set(root.variables))}"


def test_environment_variable_accepts_only_dev_and_prod(root):
    validation = single(root.variables["environment"], "validation")
    condition = attr(validation, "condition").replace("'", '"').replace(" ", "")
    assert condition == '${contains(["dev","prod"],var.environment)}'


def test_database_tier_per_environment_with_the_seed_name_beside_it(root):
    tier = by_env(root.locals["env"]["database_tier"])
    assert tier == {"prod": "db-custom-2-7680", "dev": "db-f1-micro"}
    # The seed names db-n1-standard-2; the configuration must say which tier stands for it.
    text = (GCP / "main.tf").read_text()
    before = text[: text.index('database_tier              = var.environment == "prod"')]
    assert "db-n1-standard-2" in before.splitlines()[-2] + before.splitlines()[-3]


def test_prod_is_regional_protected_and_replicated(root):
    env = root.locals["env"]
    assert by_env(env["database_availability_type"]) == {"prod": "REGIONAL", "dev": "ZONAL"}
    assert by_env(env["deletion_protection"]) == {"prod": True, "dev": False}
    assert by_env(env["database_read_replica"]) == {"prod": True, "dev": False}
    assert by_env(env["log_retention_days"]) == {"prod": 365, "dev": 30}
    assert by_env(env["build_requires_approval"]) == {"prod": True, "dev": False}


def test_connection_pool_fits_the_database_at_max_instances(root):
    pool = by_env(root.locals["env"]["database_max_connections"])
    max_instances = root.locals["cloud_run"]["max_instances"]
    # db-f1-micro accepts 25 connections (3 kept for superusers).
    assert pool["dev"] * max_instances <= 22
    assert pool["prod"] * max_instances <= 200


def test_environment_settings_reach_the_modules(root):
    db = root.modules["database"]
    assert attr(db, "tier") == "${local.env.database_tier}"
    assert attr(db, "availability_type") == "${local.env.database_availability_type}"
    assert attr(db, "deletion_protection") == "${local.env.deletion_protection}"
    assert attr(db, "read_replica") == "${local.env.database_read_replica}"
    assert attr(root.modules["cloud_run"], "deletion_protection") == "${local.env.deletion_protection}"
    assert attr(root.modules["monitoring"], "log_retention_days") == "${local.env.log_retention_days}"


# --- network -------------------------------------------------------------------------------


def test_subnets_are_the_seeds_tokyo_and_osaka(root):
    assert root.locals["subnets"] == {
        "tokyo": {"region": "asia-northeast1", "cidr": "10.0.1.0/24"},
        "osaka": {"region": "asia-northeast2", "cidr": "10.0.2.0/24"},
    }
    call = root.modules["network"]
    assert attr(call, "subnets") == "${local.subnets}"
    assert attr(call, "run_subnet") == "tokyo"
    assert root.locals["region"] == "asia-northeast1"


def test_vpc_is_custom_mode_with_private_google_access_and_flow_logs():
    net = module("network")
    assert attr(net.resource("google_compute_network", "vpc"), "auto_create_subnetworks") is False
    subnet = net.resource("google_compute_subnetwork", "subnet")
    assert attr(subnet, "for_each") == "${var.subnets}"
    assert attr(subnet, "private_ip_google_access") is True
    assert blocks(subnet, "log_config"), "VPC flow logs"


def test_cloud_router_and_nat_in_every_subnet_region():
    net = module("network")
    router = net.resource("google_compute_router", "router")
    assert "s.region" in attr(router, "for_each")
    nat = net.resource("google_compute_router_nat", "nat")
    assert attr(nat, "for_each") == "${google_compute_router.router}"
    assert attr(nat, "source_subnetwork_ip_ranges_to_nat") == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    assert attr(single(nat, "log_config"), "enable") is True


def test_firewall_rules():
    net = module("network")
    lb_ranges = net.locals["google_lb_ranges"]
    assert sorted(lb_ranges) == ["130.211.0.0/22", "35.191.0.0/16"]

    https = net.resource("google_compute_firewall", "allow_https_http")
    assert attr(https, "direction") == "INGRESS"
    assert attr(single(https, "allow"), "ports") == ["80", "443"]
    assert attr(https, "source_ranges") == "${local.google_lb_ranges}"
    assert attr(https, "target_tags") == ["${var.http_target_tag}"]
    assert net.default("http_target_tag") == "http-server"

    app = net.resource("google_compute_firewall", "allow_lb_to_app")
    assert attr(single(app, "allow"), "ports") == ["8080"]
    assert attr(app, "source_ranges") == "${local.google_lb_ranges}"

    deny = net.resource("google_compute_firewall", "deny_all_ingress")
    assert attr(deny, "direction") == "INGRESS"
    assert attr(single(deny, "deny"), "protocol") == "all"
    assert attr(deny, "source_ranges") == ["0.0.0.0/0"]
    assert blocks(deny, "log_config"), "the default deny is logged"
    assert attr(deny, "priority") > attr(https, "priority")

    # Every rule logs.
    for name, rule in net.resources["google_compute_firewall"].items():
        assert blocks(rule, "log_config"), name


def test_private_services_access_for_cloud_sql(root):
    net = module("network")
    address = net.resource("google_compute_global_address", "private_services")
    assert attr(address, "purpose") == "VPC_PEERING"
    conn = net.resource("google_service_networking_connection", "private_services")
    assert attr(conn, "service") == "servicenetworking.googleapis.com"
    reserved = ipaddress.ip_network(net.default("private_service_range"))
    for subnet in root.locals["subnets"].values():
        assert not reserved.overlaps(ipaddress.ip_network(subnet["cidr"]))
    # Cloud SQL gets the network only through the output that waits for the peering.
    assert attr(root.modules["database"], "network_id") == "${module.network.private_services_network_id}"
    out = net.outputs["private_services_network_id"]
    assert attr(out, "depends_on") == ["${google_service_networking_connection.private_services}"]


# --- Cloud Run -----------------------------------------------------------------------------


def test_cloud_run_shape_is_the_seeds(root):
    assert root.locals["cloud_run"] == {
        "cpu": "1", "memory": "2Gi", "concurrency": 100, "min_instances": 1, "max_instances": 10,
    }
    call = root.modules["cloud_run"]
    for key in ("cpu", "memory", "concurrency", "min_instances", "max_instances"):
        assert attr(call, key) == f"${{local.cloud_run.{key}}}", key


@pytest.fixture(scope="module")
def cloud_run():
    return module("cloud_run")


@pytest.fixture(scope="module")
def app_template(cloud_run):
    return single(cloud_run.resource("google_cloud_run_v2_service", "app"), "template")


def app_container(template: dict) -> dict:
    containers = {attr(c, "name"): c for c in blocks(template, "containers")}
    assert set(containers) == {"todo-api", "otel-collector"}
    # The first container is the one `ignore_changes` and `gcloud run deploy --container` name.
    assert attr(blocks(template, "containers")[0], "name") == "todo-api"
    return containers["todo-api"]


def test_service_uses_the_shape_variables(app_template):
    assert attr(app_template, "max_instance_request_concurrency") == "${var.concurrency}"
    scaling = single(app_template, "scaling")
    assert attr(scaling, "min_instance_count") == "${var.min_instances}"
    assert attr(scaling, "max_instance_count") == "${var.max_instances}"
    limits = attr(single(app_container(app_template), "resources"), "limits")
    assert limits == {"cpu": "${var.cpu}", "memory": "${var.memory}"}


def test_container_port_8080_and_probes(cloud_run, app_template):
    assert cloud_run.locals["container_port"] == 8080
    app = app_container(app_template)
    assert attr(single(app, "ports"), "container_port") == "${local.container_port}"

    startup = single(single(app, "startup_probe"), "http_get")
    assert attr(startup, "path") == "/health-check"
    assert attr(startup, "port") == "${local.container_port}"
    liveness = single(single(app, "liveness_probe"), "http_get")
    assert attr(liveness, "path") == "/livez"
    assert attr(liveness, "port") == "${local.container_port}"


def test_container_environment(cloud_run):
    env = cloud_run.locals["container_environment"]
    assert "PORT" not in env, "PORT is reserved: Cloud Run injects it"
    assert env["AUTO_MIGRATE"] == "false"
    assert env["LOG_FORMAT"] == "json"
    assert env["SHUTDOWN_TIMEOUT"] == "8", "Cloud Run kills 10 s after SIGTERM"
    assert env["GOOGLE_CLOUD_PROJECT"] == "${var.project_id}"
    assert env["DATABASE_URL"] == "${local.database_url}"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4317"
    assert env["OTEL_SERVICE_NAME"] == "todo-api"
    assert env["METRICS_ENABLED"] == "true"
    assert "RUST_LOG" in env

    url = cloud_run.locals["database_url"]
    assert url.startswith("postgres://${var.database.user}@${var.database.host}:5432/")
    assert url.endswith("?sslmode=require")
    assert "password" not in url.lower()
    replica = cloud_run.locals["read_replica_environment"]
    assert "DATABASE_READ_URL" in replica and "sslmode=require" in replica


def test_secrets_come_from_secret_manager_pinned(cloud_run, app_template):
    secrets = cloud_run.locals["secret_environment"]
    assert "DATABASE_PASSWORD" in secrets and "TOKEN_PEPPER" in secrets
    assert "TOKEN_PEPPER_PREVIOUS" in secrets, "offered during a pepper rotation"
    env_names = set(cloud_run.locals["container_environment"])
    assert not env_names & {"DATABASE_PASSWORD", "TOKEN_PEPPER"}, "secrets never as plain env"
    # The app container's env blocks: the plain map, then the secrets by reference.
    dynamic_env = [d["env"] for d in blocks(app_container(app_template), "dynamic") if "env" in d]
    sources = {attr(d, "for_each").replace(" ", "") for d in dynamic_env}
    assert sources == {
        "${merge(local.container_environment,local.read_replica_environment)}",
        "${local.secret_environment}",
    }
    secret_env = next(d for d in dynamic_env if attr(d, "for_each") == "${local.secret_environment}")
    ref = single(single(single(secret_env, "content"), "value_source"), "secret_key_ref")
    assert attr(ref, "version") == "${env.value.version}", "pinned versions, not latest"


def test_ingress_is_load_balancer_only_with_a_dedicated_account(cloud_run):
    svc = cloud_run.resource("google_cloud_run_v2_service", "app")
    assert attr(svc, "ingress") == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    template = single(svc, "template")
    assert attr(template, "service_account") == "${google_service_account.run.email}"
    assert attr(template, "encryption_key") == "${var.kms_key_id}"
    vpc = single(template, "vpc_access")
    assert attr(vpc, "egress") == "PRIVATE_RANGES_ONLY"
    assert blocks(vpc, "network_interfaces"), "Direct VPC egress to reach Cloud SQL's private IP"

    invoker = cloud_run.resource("google_cloud_run_v2_service_iam_member", "public_invoker")
    assert attr(invoker, "role") == "roles/run.invoker"
    assert attr(invoker, "member") == "allUsers"

    roles = attr(cloud_run.resource("google_project_iam_member", "run"), "for_each")
    assert "roles/cloudtrace.agent" in roles
    assert not any("admin" in r or "editor" in r or "owner" in r for r in roles)


def test_telemetry_sidecar(cloud_run, app_template):
    sidecar = {attr(c, "name"): c for c in blocks(app_template, "containers")}["otel-collector"]
    assert not blocks(sidecar, "ports"), "only the app container takes ingress"
    assert attr(app_container(app_template), "depends_on") == ["otel-collector"]
    config = cloud_run.locals["otel_collector_config"]
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "localhost:4317"
    assert config["service"]["pipelines"]["traces"]["exporters"] == ["googlecloud"]
    scrape = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    assert scrape["static_configs"][0]["targets"] == ["localhost:${local.metrics_port}"]
    assert cloud_run.locals["metrics_port"] == 9000


def test_image_changes_belong_to_cloud_build(cloud_run):
    svc = cloud_run.resource("google_cloud_run_v2_service", "app")
    ignored = attr(single(svc, "lifecycle"), "ignore_changes")
    assert "${template[0].containers[0].image}" in ignored
    job = cloud_run.resource("google_cloud_run_v2_job", "migrate")
    assert "${template[0].template[0].containers[0].image}" in attr(single(job, "lifecycle"), "ignore_changes")


def test_migrate_job(cloud_run):
    job = cloud_run.resource("google_cloud_run_v2_job", "migrate")
    assert attr(job, "name") == "${var.name}-migrate"
    task = single(single(job, "template"), "template")
    assert attr(task, "service_account") == "${google_service_account.run.email}"
    assert attr(task, "max_retries") == 0
    container = single(task, "containers")
    assert attr(container, "args") == ["migrate"]
    names = {attr(e, "name") for e in blocks(container, "env")}
    assert {"DATABASE_URL", "DATABASE_PASSWORD"} <= names
    assert "TOKEN_PEPPER" not in names, "the job needs the database password only"


# --- load balancer and Cloud Armor ---------------------------------------------------------


def test_https_load_balancer_with_serverless_neg():
    lb = module("load_balancer")
    neg = lb.resource("google_compute_region_network_endpoint_group", "run")
    assert attr(neg, "network_endpoint_type") == "SERVERLESS"
    backend = lb.resource("google_compute_backend_service", "app")
    assert "health_checks" not in backend, "serverless NEG backends take no health check"
    assert attr(backend, "load_balancing_scheme") == "EXTERNAL_MANAGED"
    assert attr(backend, "security_policy") == "${google_compute_security_policy.armor.id}"
    assert attr(single(backend, "log_config"), "enable") is True

    cert = lb.resource("google_compute_managed_ssl_certificate", "cert")
    assert attr(single(cert, "managed"), "domains") == ["${var.domain}"]
    assert attr(lb.resource("google_compute_ssl_policy", "tls"), "min_tls_version") == "TLS_1_2"

    https = lb.resource("google_compute_global_forwarding_rule", "https")
    assert attr(https, "port_range") == "443"
    http = lb.resource("google_compute_global_forwarding_rule", "http")
    assert attr(http, "port_range") == "80"
    assert attr(http, "target") == "${google_compute_target_http_proxy.redirect.id}"
    redirect = single(lb.resource("google_compute_url_map", "redirect"), "default_url_redirect")
    assert attr(redirect, "https_redirect") is True


def test_cloud_armor_rules():
    lb = module("load_balancer")
    policy = lb.resource("google_compute_security_policy", "armor")
    rules = blocks(policy, "rule")
    expressions = {}
    for rule in rules:
        match = single(rule, "match")
        expr = blocks(match, "expr")
        expressions[attr(rule, "priority")] = (attr(rule, "action"), attr(expr[0], "expression") if expr else None)

    waf = " ".join(e for _, e in expressions.values() if e)
    for rule_set in ("sqli-v33-stable", "xss-v33-stable", "lfi-v33-stable", "rce-v33-stable", "cve-canary"):
        assert f"'{rule_set}'" in waf, rule_set
    assert "methodenforcement" not in waf, "the API needs PATCH and DELETE"
    assert all(a == "deny(403)" for a, e in expressions.values() if e and "evaluatePreconfiguredWaf" in e)

    assert any(e == "${local.geo_expression}" for _, e in expressions.values()), "geo restriction rule"
    geo = lb.locals["geo_expression"]
    assert "origin.region_code" in geo and "/health-check" in geo

    bans = [r for r in rules if attr(r, "action") == "rate_based_ban"]
    assert len(bans) == 1
    assert attr(single(bans[0], "rate_limit_options"), "exceed_action") == "deny(429)"
    # Rules are evaluated by priority: WAF, geo, then the rate limit (which allows), then default.
    geo_priority = next(p for p, (_, e) in expressions.items() if e == "${local.geo_expression}")
    assert max(p for p, (_, e) in expressions.items() if e and "Waf" in e) < geo_priority < attr(bans[0], "priority")
    assert expressions[2147483647][0] == "allow"


def test_geo_restriction_is_a_variable(root):
    assert attr(root.modules["load_balancer"], "geo_allowed_region_codes") == "${var.geo_allowed_region_codes}"
    assert load_tfvars("gcp/prod.tfvars")["geo_allowed_region_codes"] == ["JP"]


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


def test_secrets_readable_only_by_the_runtime_account(root):
    secrets = module("secrets")
    assert {v["secret_id"].split("}-")[-1] for v in secrets.locals["secrets"].values()} == {
        "database-password", "token-pepper",
    }
    accessor = secrets.resource("google_secret_manager_secret_iam_member", "accessor")
    assert attr(accessor, "role") == "roles/secretmanager.secretAccessor"
    assert attr(accessor, "member") == "serviceAccount:${var.accessor_email}"
    assert attr(root.modules["secrets"], "accessor_email") == "${module.cloud_run.service_account_email}"

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
