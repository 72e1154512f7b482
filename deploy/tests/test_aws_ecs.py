"""ECS Fargate: task size 512/1024, port 8000, the container environment the app expects,
secrets from Secrets Manager, read-only root filesystems, logs to /ecs/todo-api, the ADOT
sidecar, the migrate task, the service (desired 2, CodeDeploy controller) and autoscaling 2-10."""

from __future__ import annotations

import re

import pytest

from conftest import attr, blocks
from test_aws_common import ENVS, MODULES, ROOT, effective

ECS = MODULES["ecs"]
ENV = ECS.locals["container_environment"]
APP = ECS.locals["app_container"]
ADOT = ECS.locals["adot_container"]
MIGRATE = ECS.locals["migrate_container"]
PURGE = ECS.locals["purge_container"]

# Every variable the application reads (the contract); anything else in the task is a typo.
APP_VARIABLES = {
    "DATABASE_URL", "DATABASE_PASSWORD", "DATABASE_READ_URL", "DATABASE_MAX_CONNECTIONS",
    "DATABASE_ACQUIRE_TIMEOUT", "DATABASE_STATEMENT_TIMEOUT", "HOST", "PORT", "METRICS_PORT",
    "METRICS_ENABLED", "LOG_FORMAT", "RUST_LOG", "TOKEN_PEPPER", "TOKEN_PEPPER_PREVIOUS", "SIGNUP",
    "AUTHZ", "AUTO_MIGRATE", "SHUTDOWN_TIMEOUT", "REQUEST_TIMEOUT", "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME", "CORS_ALLOW_ORIGINS", "TRUST_PROXY_HEADERS", "TRUSTED_PROXIES",
    "AUDIT_RETENTION_DAYS",
}  # fmt: skip
# Read only by `todo-api migrate`.
MIGRATE_VARIABLES = {"DATABASE_APP_ROLE", "BOOTSTRAP_ADMIN_EMAIL", "BOOTSTRAP_ADMIN_TOKEN"}
RDS_CA = "/etc/todo-api/ca/rds-global-bundle.pem"


def test_task_size_is_512_cpu_1024_memory():
    task = ECS.resource("aws_ecs_task_definition", "app")
    assert (attr(task, "cpu"), attr(task, "memory")) == (512, 1024)
    assert attr(task, "requires_compatibilities") == ["FARGATE"]
    assert attr(task, "network_mode") == "awsvpc"
    assert attr(task, "container_definitions") == "${jsonencode(['${local.app_container}', '${local.adot_container}'])}"
    # The containers' reservations fit the task.
    assert APP["cpu"] + ADOT["cpu"] <= 512
    assert APP["memoryReservation"] + ADOT["memory"] <= 1024


def test_container_environment_has_the_required_values():
    assert ENV["PORT"] == "8000"
    assert ENV["AUTO_MIGRATE"] == "false"
    assert ENV["LOG_FORMAT"] == "json"
    assert ENV["RUST_LOG"] == "${var.rust_log}"
    assert ENV["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4317"
    assert ENV["OTEL_SERVICE_NAME"] == "todo-api"
    assert ENV["METRICS_PORT"] == "9000"
    assert int(ENV["SHUTDOWN_TIMEOUT"]) == 20
    assert ENV["DATABASE_MAX_CONNECTIONS"] == "${tostring(var.db_max_connections)}"


def test_environment_names_are_ones_the_app_reads():
    unknown = set(ENV) - APP_VARIABLES
    assert not unknown, f"variables the app does not read: {unknown}"


def test_database_urls_carry_no_password_and_require_tls():
    for key in ("DATABASE_URL", "DATABASE_READ_URL"):
        urls = re.findall(r"postgres://[^\"']+", ENV[key])
        assert urls, key
        for url in urls:
            userinfo = url.split("://", 1)[1].split("@", 1)[0]
            assert ":" not in userinfo, f"{key} embeds a password"
            assert url.endswith("?${local.db_tls}"), f"{key} must verify TLS"
    assert ENV["DATABASE_URL"].startswith("postgres://${var.db_app_username}@${var.db_address}:")
    assert "${var.db_replica_address}" in ENV["DATABASE_READ_URL"]
    assert "var.db_replica_address == None" in ENV["DATABASE_READ_URL"], "empty without a replica"


def test_no_secret_in_plain_environment():
    for key in ENV:
        assert not re.search(r"PASSWORD|PEPPER|SECRET|TOKEN", key), key
    assert APP["environment"].startswith("${[for k , v in local.container_environment")


def test_secrets_come_from_secrets_manager_keys():
    refs = ECS.locals["app_secret_refs"]
    assert refs["DATABASE_PASSWORD"] == "${aws_secretsmanager_secret.db_app.arn}:password::"
    assert refs["TOKEN_PEPPER"] == "${aws_secretsmanager_secret.token_pepper.arn}:current::"
    assert ECS.locals["rotation_secret_refs"] == {"TOKEN_PEPPER_PREVIOUS": "${aws_secretsmanager_secret.token_pepper.arn}:previous::"}
    assert APP["secrets"] == "${local.app_secrets}"
    for name in ("db_app", "token_pepper"):
        secret = ECS.resource("aws_secretsmanager_secret", name)
        assert attr(secret, "kms_key_id") == "${var.data_kms_key_arn}", f"{name} must be KMS encrypted"
        version = ECS.resource("aws_secretsmanager_secret_version", name)
        assert "secret_string" not in version, "values are write-only (never in the state)"
        assert "ephemeral.random_password" in attr(version, "secret_string_wo")


def test_execution_roles_read_exactly_their_secrets():
    roles = ECS.locals["execution_roles"]
    assert roles["app"]["secrets"] == ["${aws_secretsmanager_secret.db_app.arn}", "${aws_secretsmanager_secret.token_pepper.arn}"]
    assert roles["migrate"]["secrets"] == ["${var.db_master_secret_arn}", "${aws_secretsmanager_secret.bootstrap_admin_token.arn}"]
    assert roles["audit-purge"]["secrets"] == ["${var.db_master_secret_arn}"]
    assert roles["db-setup"]["secrets"] == ["${var.db_master_secret_arn}", "${aws_secretsmanager_secret.db_app.arn}"]
    statements = ECS.data["aws_iam_policy_document"]["execution"]["statement"]
    (read,) = [s for s in statements if attr(s, "sid") == "ReadInjectedSecrets"]
    assert attr(read, "actions") == ["secretsmanager:GetSecretValue"]
    assert attr(read, "resources") == "${each.value.secrets}"
    task = ECS.resource("aws_ecs_task_definition", "app")
    assert attr(task, "execution_role_arn") == '${aws_iam_role.execution["app"].arn}'
    assert attr(task, "task_role_arn") == "${aws_iam_role.app_task.arn}"


def test_every_container_has_a_read_only_root_filesystem():
    setup = ECS.resource("aws_ecs_task_definition", "db_setup")
    assert "readonlyRootFilesystem': True" in attr(setup, "container_definitions")
    for container in (APP, ADOT, MIGRATE, PURGE):
        assert container["readonlyRootFilesystem"] is True, container["name"]
        assert container["linuxParameters"]["capabilities"]["drop"] == ["ALL"]


def test_app_container_port_health_check_and_stop_timeout():
    (mapping,) = APP["portMappings"]
    assert mapping["containerPort"] == 8000 == int(ENV["PORT"])
    assert APP["healthCheck"]["command"] == ["CMD", "/usr/local/bin/todo-api", "healthcheck"]
    # The app drains for SHUTDOWN_TIMEOUT after SIGTERM; ECS kills at stopTimeout.
    assert APP["stopTimeout"] == 30
    assert int(ENV["SHUTDOWN_TIMEOUT"]) < APP["stopTimeout"] <= 120
    assert APP["name"] == "${var.container_name}"
    assert ECS.default("container_name") == "todo-api"


def test_logs_go_to_ecs_todo_api():
    group = ECS.resource("aws_cloudwatch_log_group", "app")
    assert attr(group, "name") == "/ecs/todo-api"
    assert attr(group, "kms_key_id") == "${var.logs_kms_key_arn}"
    assert attr(group, "retention_in_days") == "${var.log_retention_days}"
    logging = ECS.locals["logging"]
    assert "'logDriver': 'awslogs'" in logging
    assert "'awslogs-group': '${aws_cloudwatch_log_group.app.name}'" in logging
    for container, prefix in ((APP, "app"), (ADOT, "adot"), (MIGRATE, "migrate"), (PURGE, "audit-purge")):
        assert container["logConfiguration"] == f'${{local.logging["{prefix}"]}}'


def test_adot_sidecar_receives_otlp_and_exports_to_xray():
    assert "aws-otel-collector" in ECS.default("adot_image")
    assert not ECS.default("adot_image").endswith(":latest")
    config = ECS.locals["adot_config"]
    assert "'grpc': {'endpoint': '127.0.0.1:4317'}" in config
    assert "'awsxray'" in config and "'exporters': ['awsxray']" in config
    assert "'targets': ['127.0.0.1:9000']" in config, "scrapes the app's metrics port"
    assert ADOT["essential"] is False
    assert APP["dependsOn"] == [{"containerName": "${local.adot_container_name}", "condition": "START"}]
    assert ADOT["name"] == "${local.adot_container_name}"


def test_migrate_task_runs_migrate_as_the_owner():
    task = ECS.resource("aws_ecs_task_definition", "migrate")
    assert attr(task, "container_definitions") == "${jsonencode(['${local.migrate_container}'])}"
    assert MIGRATE["command"] == ["migrate"]
    assert MIGRATE["name"] == APP["name"], "the pipeline swaps the image by container name"
    secrets = ECS.locals["migrate_secrets"]
    assert "{'name': 'DATABASE_PASSWORD', 'valueFrom': '${var.db_master_secret_arn}:password::'}" in secrets
    assert "{'name': 'BOOTSTRAP_ADMIN_TOKEN', 'valueFrom': '${aws_secretsmanager_secret.bootstrap_admin_token.arn}'}" in secrets
    assert "TOKEN_PEPPER" not in secrets, "the migration never needs the token key"
    env = ECS.locals["migrate_environment"]
    assert "'DATABASE_URL': '${local.owner_database_url}'" in env
    assert ECS.locals["owner_database_url"].startswith("postgres://${var.db_master_username}@${var.db_address}:")
    assert "'DATABASE_APP_ROLE': '${var.db_app_username}'" in env, "migrate grants the audit tables to the app login"
    assert "'BOOTSTRAP_ADMIN_EMAIL': '${var.bootstrap_admin_email}'" in env
    assert attr(task, "execution_role_arn") == '${aws_iam_role.execution["migrate"].arn}'


def test_service_runs_in_private_subnets_behind_the_alb():
    service = ECS.resource("aws_ecs_service", "app")
    assert attr(service, "launch_type") == "FARGATE"
    assert attr(service, "desired_count") == "${var.desired_count}"
    assert (net := blocks(service, "network_configuration")[0]) and attr(net, "subnets") == "${var.private_subnet_ids}"
    assert attr(ROOT.modules["ecs"], "private_subnet_ids") == "${module.network.private_subnet_ids}"
    (lb,) = blocks(service, "load_balancer")
    assert attr(lb, "container_port") == 8000
    assert attr(lb, "container_name") == "${var.container_name}"
    assert attr(ROOT.modules["ecs"], "target_group_arn") == '${module.alb.target_group_arns["blue"]}'


@pytest.mark.parametrize("env", ENVS)
def test_service_count_and_grace_period(env):
    assert effective("ecs", "desired_count", env) == 2
    grace = effective("ecs", "health_check_grace_period", env)
    assert 30 <= grace <= 300
    service = ECS.resource("aws_ecs_service", "app")
    assert attr(service, "health_check_grace_period_seconds") == "${var.health_check_grace_period}"


def test_blue_green_controller_and_ignored_attributes():
    service = ECS.resource("aws_ecs_service", "app")
    (controller,) = blocks(service, "deployment_controller")
    assert attr(controller, "type") == "CODE_DEPLOY"
    (lifecycle,) = blocks(service, "lifecycle")
    ignored = attr(lifecycle, "ignore_changes")
    for key in ("task_definition", "load_balancer", "desired_count"):
        assert f"${{{key}}}" in ignored, key


@pytest.mark.parametrize("env", ENVS)
def test_autoscaling_between_2_and_10_on_cpu_and_requests(env):
    target = ECS.resource("aws_appautoscaling_target", "app")
    assert attr(target, "min_capacity") == "${var.min_capacity}"
    assert attr(target, "max_capacity") == "${var.max_capacity}"
    assert (effective("ecs", "min_capacity", env), effective("ecs", "max_capacity", env)) == (2, 10)
    cpu = ECS.resource("aws_appautoscaling_policy", "cpu")
    (config,) = blocks(cpu, "target_tracking_scaling_policy_configuration")
    (metric,) = blocks(config, "predefined_metric_specification")
    assert attr(metric, "predefined_metric_type") == "ECSServiceAverageCPUUtilization"
    assert attr(config, "target_value") == "${var.cpu_target_percent}"
    # Scaling keeps CPU below the 80 % alarm, so the alarm means "scaling cannot keep up".
    cpu_target = effective("ecs", "cpu_target_percent", env)
    assert cpu_target == 70
    assert cpu_target < effective("observability", "cpu_alarm_threshold", env) == 80
    requests = ECS.resource("aws_appautoscaling_policy", "requests")
    (config,) = blocks(requests, "target_tracking_scaling_policy_configuration")
    (custom,) = blocks(config, "customized_metric_specification")
    ids = {attr(m, "id"): m for m in blocks(custom, "metrics")}
    assert attr(ids["requests_per_task"], "expression") == "requests / tasks"
    assert attr(ids["requests_per_task"], "return_data") is True


def test_container_insights_enabled():
    cluster = ECS.resource("aws_ecs_cluster", "this")
    (setting,) = blocks(cluster, "setting")
    assert (attr(setting, "name"), attr(setting, "value")) == ("containerInsights", "enabled")


@pytest.mark.parametrize("env", ENVS)
def test_connection_budget_fits_the_instance(env):
    """max tasks x DATABASE_MAX_CONNECTIONS (+ one-off tasks) under the class's max_connections."""
    per_task = effective("ecs", "db_max_connections", env)
    tasks = effective("ecs", "max_capacity", env)
    limits = {"db.t3.micro": 80, "db.r5.large": 1700}
    instance = effective("database", "instance_class", env)
    assert tasks * per_task + 10 <= limits[instance]


# --- TLS, proxies, first admin, audit purge --------------------------------------------------


def test_database_tls_verifies_the_server_with_the_baked_rds_bundle():
    assert ECS.locals["db_ca_path"] == RDS_CA
    assert ECS.locals["db_tls"] == "sslmode=verify-full&sslrootcert=${local.db_ca_path}"
    assert ECS.locals["owner_database_url"].endswith("?${local.db_tls}")
    assert ECS.locals["purge_environment"]["DATABASE_URL"] == "${local.owner_database_url}"


def test_client_ip_is_the_last_x_forwarded_for_entry_behind_the_alb():
    assert ENV["TRUST_PROXY_HEADERS"] == "true"
    assert ENV["TRUSTED_PROXIES"] == "1", "the ALB appends exactly one entry: the peer it saw"


def test_migrate_environment_names_are_ones_the_app_reads():
    env = ECS.locals["migrate_environment"]
    for name in MIGRATE_VARIABLES - {"BOOTSTRAP_ADMIN_TOKEN"}:
        assert f"'{name}'" in env, name


def test_bootstrap_token_is_generated_write_only_in_the_token_shape():
    eph = ECS.ephemeral["random_password"]
    selector, secret = eph["bootstrap_selector"], eph["bootstrap_secret"]
    # 24 characters from digits + "abcdef": lower-case hex.
    assert (attr(selector, "length"), attr(selector, "lower"), attr(selector, "upper")) == (24, False, False)
    assert attr(selector, "numeric") is True and attr(selector, "special") is True
    assert attr(selector, "override_special") == "abcdef"
    # 43 characters of [A-Za-z0-9_-].
    assert attr(secret, "length") == 43 and attr(secret, "override_special") == "-_"
    version = ECS.resource("aws_secretsmanager_secret_version", "bootstrap_admin_token")
    assert attr(version, "secret_string_wo") == (
        "tdo_${ephemeral.random_password.bootstrap_selector.result}_${ephemeral.random_password.bootstrap_secret.result}"
    )
    assert attr(version, "secret_string_wo_version") == 1, "fixed: a later admin token is never re-adopted"
    assert "secret_string" not in version
    secret_res = ECS.resource("aws_secretsmanager_secret", "bootstrap_admin_token")
    assert attr(secret_res, "kms_key_id") == "${var.data_kms_key_arn}"
    # Only the migrate task gets it.
    assert "bootstrap_admin_token" not in str(ECS.locals["app_secrets"]) + str(ECS.locals["purge_secrets"])


def test_purge_task_runs_audit_purge_as_the_owner():
    task = ECS.resource("aws_ecs_task_definition", "purge")
    assert attr(task, "container_definitions") == "${jsonencode(['${local.purge_container}'])}"
    assert attr(task, "execution_role_arn") == '${aws_iam_role.execution["audit-purge"].arn}'
    assert PURGE["command"] == ["audit", "purge"]
    assert PURGE["name"] == APP["name"], "the pipeline swaps the image by container name"
    assert PURGE["readonlyRootFilesystem"] is True
    assert ECS.locals["purge_environment"]["AUDIT_RETENTION_DAYS"] == "${tostring(var.audit_retention_days)}"
    assert ECS.locals["purge_secrets"] == [{"name": "DATABASE_PASSWORD", "valueFrom": "${var.db_master_secret_arn}:password::"}]
    assert ENV["AUDIT_RETENTION_DAYS"] == "${tostring(var.audit_retention_days)}"


@pytest.mark.parametrize("env", ENVS)
def test_purge_runs_daily_with_retries_and_a_dead_letter_queue(env):
    assert effective("ecs", "audit_retention_days", env) == 365
    assert effective("ecs", "audit_purge_schedule", env) == "cron(30 3 * * ? *)"
    schedule = ECS.resource("aws_scheduler_schedule", "audit_purge")
    assert attr(schedule, "schedule_expression") == "${var.audit_purge_schedule}"
    (target,) = blocks(schedule, "target")
    assert attr(target, "arn") == "${aws_ecs_cluster.this.arn}"
    assert attr(target, "role_arn") == "${aws_iam_role.scheduler.arn}"
    (ecs,) = blocks(target, "ecs_parameters")
    assert attr(ecs, "task_definition_arn") == "${aws_ecs_task_definition.purge.arn_without_revision}"
    assert attr(ecs, "launch_type") == "FARGATE"
    (net,) = blocks(ecs, "network_configuration")
    assert attr(net, "assign_public_ip") is False
    (retry,) = blocks(target, "retry_policy")
    assert attr(retry, "maximum_retry_attempts") >= 1
    (dlq,) = blocks(target, "dead_letter_config")
    assert attr(dlq, "arn") == "${aws_sqs_queue.audit_purge_dlq.arn}"


def test_scheduler_role_is_least_privilege():
    statements = {attr(s, "sid"): s for s in ECS.data["aws_iam_policy_document"]["scheduler"]["statement"]}
    assert set(statements) == {"RunAuditPurgeTask", "PassAuditPurgeExecutionRole", "DeadLetters", "DecryptSchedule", "EncryptDeadLetters"}
    run = statements["RunAuditPurgeTask"]
    assert attr(run, "actions") == ["ecs:RunTask"]
    assert all("aws_ecs_task_definition.purge" in r for r in attr(run, "resources"))
    assert attr(statements["PassAuditPurgeExecutionRole"], "resources") == ['${aws_iam_role.execution["audit-purge"].arn}']
    assert attr(statements["DeadLetters"], "actions") == ["sqs:SendMessage"]
    for s in statements.values():
        assert "*" not in attr(s, "resources")


@pytest.mark.parametrize("env", ENVS)
def test_sign_up_and_authorization_per_environment(env):
    from test_aws_common import root_value

    assert attr(ROOT.modules["ecs"], "signup") == "${var.signup}"
    assert attr(ROOT.modules["ecs"], "authz") == "${var.authz}"
    assert attr(ROOT.modules["ecs"], "bootstrap_admin_email") == "${var.bootstrap_admin_email}"
    assert root_value("signup", env) is (env == "dev"), "prod closes sign-up; dev keeps it open for trials"
    assert root_value("authz", env) in ("team", "strict")
    assert "@" in root_value("bootstrap_admin_email", env)
