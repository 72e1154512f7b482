"""The Cloud Run service, its migrate job, and the load balancer with Cloud Armor in deploy/gcp."""

from __future__ import annotations

import pytest

from conftest import DEPLOY, attr, blocks, load_module, load_tfvars

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
    assert env["METRICS_PORT"] == "${tostring(local.metrics_port)}", "the port the sidecar scrapes"
    assert "RUST_LOG" in env

    url = cloud_run.locals["database_url"]
    assert url.startswith("postgres://${var.database.user}@${var.database.host}:5432/")
    assert url.endswith("?${local.db_tls}")
    assert "password" not in url.lower()
    replica = cloud_run.locals["read_replica_environment"]
    assert "DATABASE_READ_URL" in replica and "${local.db_tls}" in replica
    assert env["TRUST_PROXY_HEADERS"] == "true"
    assert env["TRUSTED_PROXIES"] == "2", "Google's LB appends '<client>, <load balancer>'"
    assert env["SIGNUP"] == "${tostring(var.signup)}" and env["AUTHZ"] == "${var.authz}"


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
    assert attr(task, "service_account") == "${google_service_account.jobs.email}", "the jobs' own identity"
    assert attr(task, "max_retries") == 0
    container = single(task, "containers")
    assert attr(container, "args") == ["migrate"]
    env = cloud_run.locals["migrate_environment"]
    assert "'DATABASE_URL': '${local.owner_database_url}'" in env, "DDL as the owner"
    assert "'DATABASE_APP_ROLE': '${var.database.user}'" in env
    assert "'BOOTSTRAP_ADMIN_EMAIL': '${var.bootstrap_admin.email}'" in env
    secrets = cloud_run.locals["migrate_secrets"]
    assert "DATABASE_PASSWORD" in secrets and "BOOTSTRAP_ADMIN_TOKEN" in secrets
    assert "TOKEN_PEPPER" not in secrets, "the job needs the owner password and the bootstrap token only"
    assert cloud_run.locals["owner_database_url"].startswith("postgres://${var.database.owner_user}@${var.database.host}:5432/")


def test_database_tls_is_verify_full_with_the_mounted_server_ca(cloud_run, app_template):
    assert cloud_run.locals["db_tls"] == "sslmode=verify-full&sslrootcert=${local.db_ca_path}"
    assert cloud_run.locals["db_ca_path"] == "${local.db_ca_dir}/server-ca.pem"
    assert cloud_run.locals["db_ca_dir"] == "/etc/todo-api/cloudsql"
    templates = [app_template] + [
        single(single(cloud_run.resource("google_cloud_run_v2_job", j), "template"), "template")
        for j in ("migrate", "purge", "db_setup")
    ]
    for template in templates:
        (volume,) = blocks(template, "volumes")
        secret = single(volume, "secret")
        assert attr(secret, "secret") == "${var.database.ca_secret}"
        assert attr(single(secret, "items"), "version") == "${var.database.ca_version}", "pinned version"
        container = blocks(template, "containers")[0]
        mount = single(container, "volume_mounts")
        assert attr(mount, "mount_path") == "${local.db_ca_dir}"
    database = load_module("gcp/modules/database")
    for name in ("primary", "replica"):
        ip = single(single(database.resource("google_sql_database_instance", name), "settings"), "ip_configuration")
        assert attr(ip, "server_ca_mode") == "GOOGLE_MANAGED_CAS_CA", "its certificate names the DNS name dialled"
    record = database.resource("google_dns_record_set", "sql")
    assert attr(record, "rrdatas") == ["${each.value.private_ip_address}"]
    zone = database.resource("google_dns_managed_zone", "sql")
    assert attr(zone, "visibility") == "private"
    root = load_module("gcp")
    assert "${module.database.dns_name}" in str(attr(root.modules["cloud_run"], "database"))


def test_audit_purge_job_and_its_schedule(cloud_run):
    job = cloud_run.resource("google_cloud_run_v2_job", "purge")
    task = single(single(job, "template"), "template")
    assert attr(task, "service_account") == "${google_service_account.jobs.email}"
    container = single(task, "containers")
    assert attr(container, "args") == ["audit", "purge"]
    assert cloud_run.locals["purge_environment"]["DATABASE_URL"] == "${local.owner_database_url}"
    schedule = cloud_run.resource("google_cloud_scheduler_job", "audit_purge")
    assert attr(schedule, "schedule") == "${var.audit_purge_schedule}"
    assert cloud_run.default("audit_purge_schedule") == "30 3 * * *"
    assert attr(schedule, "time_zone") == "Asia/Tokyo"
    target = single(schedule, "http_target")
    assert attr(target, "uri").endswith("/jobs/${google_cloud_run_v2_job.purge.name}:run")
    token = single(target, "oauth_token")
    assert attr(token, "service_account_email") == "${google_service_account.scheduler.email}", "its own identity"
    grant = cloud_run.resource("google_cloud_run_v2_job_iam_member", "scheduler_runs_purge")
    assert attr(grant, "role") == "roles/run.invoker"
    assert attr(grant, "name") == "${google_cloud_run_v2_job.purge.name}", "on the purge job only"


def test_db_setup_job_runs_the_shared_sql_as_the_owner(cloud_run):
    job = cloud_run.resource("google_cloud_run_v2_job", "db_setup")
    container = single(single(single(job, "template"), "template"), "containers")
    dyn = [d["env"] for d in blocks(container, "dynamic") if "env" in d][0]
    env = attr(dyn, "for_each")
    assert env["PGUSER"] == "${var.database.owner_user}" and env["APP_DB_USER"] == "${var.database.user}"
    assert env["PGSSLMODE"] == "verify-full"
    assert "sql/db-setup.sql" in env["SETUP_SQL"]
    assert (DEPLOY / "sql" / "db-setup.sql").is_file()


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_sign_up_and_bootstrap_per_environment(root, env):
    tfvars = load_tfvars(f"gcp/{env}.tfvars")
    assert tfvars["signup"] is (env == "dev"), "prod closes sign-up"
    assert tfvars["authz"] in ("team", "strict")
    assert "@" in tfvars["bootstrap_admin_email"]
    call = root.modules["cloud_run"]
    assert attr(call, "signup") == "${var.signup}" and attr(call, "authz") == "${var.authz}"


def test_bootstrap_token_is_generated_write_only_in_the_token_shape():
    secrets = module("secrets")
    eph = secrets.ephemeral["random_password"]
    selector, secret = eph["bootstrap_selector"], eph["bootstrap_secret"]
    assert (attr(selector, "length"), attr(selector, "lower"), attr(selector, "upper")) == (24, False, False)
    assert attr(selector, "override_special") == "abcdef" and attr(selector, "special") is True
    assert attr(secret, "length") == 43 and attr(secret, "override_special") == "-_"
    version = secrets.resource("google_secret_manager_secret_version", "bootstrap_admin_token")
    assert attr(version, "secret_data_wo") == (
        "tdo_${ephemeral.random_password.bootstrap_selector.result}_${ephemeral.random_password.bootstrap_secret.result}"
    )
    assert attr(version, "secret_data_wo_version") == 1
    assert secrets.locals["secrets"]["bootstrap_admin_token"]["readers"] == ["jobs"], "the migrate job only"


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
