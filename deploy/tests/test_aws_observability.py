"""CloudWatch: alarms CPU > 80 %, memory > 80 %, DB connection errors, HTTP 5xx rate, unhealthy
targets, all to an encrypted SNS topic; a dashboard; X-Ray sampling rules."""

from __future__ import annotations

import pytest

from conftest import attr, blocks
from test_aws_common import ENVS, MODULES, ROOT, effective, value_in

OBS = MODULES["observability"]
ALARMS = OBS.resources["aws_cloudwatch_metric_alarm"]


@pytest.mark.parametrize(("alarm", "metric", "threshold"), [("ecs_cpu_high", "CPUUtilization", 80), ("ecs_memory_high", "MemoryUtilization", 80)])
@pytest.mark.parametrize("env", ENVS)
def test_ecs_utilisation_alarms_at_80_percent(env, alarm, metric, threshold):
    body = ALARMS[alarm]
    assert attr(body, "namespace") == "AWS/ECS"
    assert attr(body, "metric_name") == metric
    assert attr(body, "comparison_operator") == "GreaterThanThreshold"
    assert value_in("observability", attr(body, "threshold"), env) == threshold
    assert OBS.locals["ecs_dimensions"] == {"ClusterName": "${var.cluster_name}", "ServiceName": "${var.service_name}"}


@pytest.mark.parametrize("env", ENVS)
def test_http_5xx_rate_alarm(env):
    body = ALARMS["http_5xx_rate"]
    (rate,) = [q for q in blocks(body, "metric_query") if attr(q, "id") == "rate"]
    expression = attr(rate, "expression")
    assert "target_5xx" in expression and "elb_5xx" in expression and "/ requests" in expression
    (dynamic,) = blocks(body, "dynamic")
    metrics = attr(dynamic["metric_query"], "for_each")
    assert metrics == {"requests": "RequestCount", "target_5xx": "HTTPCode_Target_5XX_Count", "elb_5xx": "HTTPCode_ELB_5XX_Count"}
    assert value_in("observability", attr(body, "threshold"), env) == 5
    assert attr(body, "comparison_operator") == "GreaterThanThreshold"


@pytest.mark.parametrize("env", ENVS)
def test_db_connection_errors_alarm(env):
    body = ALARMS["db_connection_errors"]
    assert "db_connection_errors.metric_transformation[0].name" in attr(body, "metric_name")
    assert value_in("observability", attr(body, "threshold"), env) == 1
    assert attr(body, "comparison_operator") == "GreaterThanOrEqualToThreshold"
    metric_filter = OBS.resource("aws_cloudwatch_log_metric_filter", "db_connection_errors")
    assert attr(metric_filter, "log_group_name") == "${var.db_log_group_name}"
    assert "password authentication failed" in attr(metric_filter, "pattern")
    assert "too many connections" in attr(metric_filter, "pattern")
    assert attr(ROOT.modules["observability"], "db_log_group_name") == "${module.database.postgresql_log_group_name}"


def test_unhealthy_target_alarm_per_target_group():
    body = ALARMS["unhealthy_targets"]
    assert attr(body, "for_each") == "${var.target_group_arn_suffixes}"
    assert attr(body, "metric_name") == "UnHealthyHostCount"
    assert attr(body, "threshold") == 0
    assert attr(body, "comparison_operator") == "GreaterThanThreshold"


def test_every_alarm_notifies_the_encrypted_topic():
    assert OBS.locals["actions"] == ["${aws_sns_topic.alarms.arn}"]
    for name, body in ALARMS.items():
        assert attr(body, "alarm_actions") == "${local.actions}", name
        assert attr(body, "ok_actions") == "${local.actions}", name
    topic = OBS.resource("aws_sns_topic", "alarms")
    assert attr(topic, "kms_master_key_id") == "${var.data_kms_key_arn}"


def test_deployment_alarms_feed_codedeploy():
    value = OBS.outputs["deployment_alarm_names"]["value"][0]
    assert "http_5xx_rate" in value and "unhealthy_targets" in value
    assert attr(ROOT.modules["pipeline"], "deployment_alarm_names") == "${module.observability.deployment_alarm_names}"


def test_dashboard_and_xray_sampling():
    assert "aws_cloudwatch_dashboard" in OBS.resources
    api = OBS.resource("aws_xray_sampling_rule", "api")
    assert attr(api, "service_name") == "todo-api"
    assert attr(api, "fixed_rate") == "${var.trace_sampling_rate}"
    assert 0 < OBS.default("trace_sampling_rate") <= 1
    probes = OBS.resource("aws_xray_sampling_rule", "probes")
    assert attr(probes, "fixed_rate") == 0


@pytest.mark.parametrize("env", ENVS)
def test_thresholds_are_not_overridden_away_from_the_design(env):
    assert effective("observability", "cpu_alarm_threshold", env) == 80
    assert effective("observability", "memory_alarm_threshold", env) == 80
