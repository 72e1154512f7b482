"""ALB: ACM with DNS validation, HTTP -> HTTPS redirect, TLS 1.2+ only, invalid headers dropped,
access logs to S3, target groups on port 8000 checking /health-check, blue/green plumbing."""

from __future__ import annotations

import pytest

from conftest import attr, blocks
from test_aws_common import ENVS, MODULES, effective, value_in

ALB = MODULES["alb"]


def test_http_listener_only_redirects_to_https():
    http = ALB.resource("aws_lb_listener", "http")
    assert (attr(http, "port"), attr(http, "protocol")) == (80, "HTTP")
    (action,) = blocks(http, "default_action")
    assert attr(action, "type") == "redirect"
    (redirect,) = blocks(action, "redirect")
    assert (attr(redirect, "protocol"), attr(redirect, "port"), attr(redirect, "status_code")) == ("HTTPS", "443", "HTTP_301")


@pytest.mark.parametrize("env", ENVS)
def test_https_listeners_use_tls12_or_newer(env):
    policy = effective("alb", "ssl_policy", env)
    assert policy == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    for name in ("https", "test"):
        listener = ALB.resource("aws_lb_listener", name)
        assert attr(listener, "protocol") == "HTTPS"
        assert value_in("alb", attr(listener, "ssl_policy"), env) == policy
        assert attr(listener, "certificate_arn") == "${aws_acm_certificate_validation.this.certificate_arn}"
    assert attr(ALB.resource("aws_lb_listener", "https"), "port") == 443


def test_certificate_is_validated_by_dns():
    cert = ALB.resource("aws_acm_certificate", "this")
    assert attr(cert, "validation_method") == "DNS"
    assert attr(cert, "domain_name") == "${var.domain_name}"
    assert "aws_acm_certificate_validation" in ALB.resources


def test_load_balancer_hardening_and_access_logs():
    lb = ALB.resource("aws_lb", "this")
    assert attr(lb, "load_balancer_type") == "application"
    assert attr(lb, "internal") is False
    assert attr(lb, "drop_invalid_header_fields") is True
    (logs,) = blocks(lb, "access_logs")
    assert attr(logs, "enabled") is True
    assert attr(logs, "bucket") == "${aws_s3_bucket.access_logs.id}"
    pab = ALB.resource("aws_s3_bucket_public_access_block", "access_logs")
    for key in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert attr(pab, key) is True, key


@pytest.mark.parametrize("env", ENVS)
def test_target_groups_port_8000_and_health_check_path(env):
    tg = ALB.resource("aws_lb_target_group", "this")
    assert ALB.locals["target_groups"].replace("'", '"') == '${toset(["blue", "green"])}'
    assert value_in("alb", attr(tg, "port"), env) == 8000
    assert attr(tg, "target_type") == "ip"
    (hc,) = blocks(tg, "health_check")
    assert value_in("alb", attr(hc, "path"), env) == "/health-check"
    assert attr(hc, "port") == "traffic-port"
    assert attr(hc, "matcher") == "200"
    # The ALB drains a target before ECS stops it; then SIGTERM and the app's 20 s drain.
    assert effective("alb", "deregistration_delay", env) <= 60


def test_codedeploy_owns_the_listener_actions():
    https = ALB.resource("aws_lb_listener", "https")
    test = ALB.resource("aws_lb_listener", "test")
    for listener, group in ((https, "blue"), (test, "green")):
        (lifecycle,) = blocks(listener, "lifecycle")
        assert attr(lifecycle, "ignore_changes") == ["${default_action}"]
        (action,) = blocks(listener, "default_action")
        assert attr(action, "target_group_arn") == f'${{aws_lb_target_group.this["{group}"].arn}}'
    assert attr(test, "port") == "${var.test_listener_port}"
    assert ALB.default("test_listener_port") == MODULES["network"].default("test_listener_port") == 8443


def test_deletion_protection_in_prod_only():
    lb = ALB.resource("aws_lb", "this")
    assert attr(lb, "enable_deletion_protection") == "${var.deletion_protection}"
    assert effective("alb", "deletion_protection", "prod") is True
    assert effective("alb", "deletion_protection", "dev") is False


def test_waf_is_associated_with_the_alb():
    assoc = ALB.resource("aws_wafv2_web_acl_association", "this")
    assert attr(assoc, "resource_arn") == "${aws_lb.this.arn}"
    assert attr(assoc, "web_acl_arn") == "${var.web_acl_arn}"
    from test_aws_common import ROOT

    assert attr(ROOT.modules["alb"], "web_acl_arn") == "${module.waf.web_acl_arn}"
