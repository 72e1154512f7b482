"""WAF v2 on the ALB: AWS managed common, SQL injection and known-bad-inputs rule sets, a
per-IP rate limit, a geo restriction driven by a variable, and logging without tokens."""

from __future__ import annotations

import pytest

from conftest import attr, blocks
from test_aws_common import ENVS, MODULES, effective

WAF = MODULES["waf"]
ACL = WAF.resource("aws_wafv2_web_acl", "this")


def _dynamic_rules() -> list[dict]:
    return [d["rule"] for d in blocks(ACL, "dynamic") if "rule" in d]


def test_managed_rule_sets():
    sets = WAF.locals["managed_rule_sets"]
    for required in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesSQLiRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"):
        assert required in sets, required
    managed = [r for r in _dynamic_rules() if attr(r, "for_each") == "${local.managed_rule_sets}"]
    assert len(managed) == 1
    (content,) = blocks(managed[0], "content")
    (statement,) = blocks(content, "statement")
    (group,) = blocks(statement, "managed_rule_group_statement")
    assert attr(group, "vendor_name") == "AWS"
    assert attr(group, "name") == "${rule.key}"
    (override,) = blocks(content, "override_action")
    assert "none" in override, "rule groups must block, not just count"


@pytest.mark.parametrize("env", ENVS)
def test_rate_limit_blocks_per_ip(env):
    (rule,) = [r for r in blocks(ACL, "rule") if attr(r, "name") == "rate-limit-per-ip"]
    (action,) = blocks(rule, "action")
    assert "block" in action
    (statement,) = blocks(rule, "statement")
    (rate,) = blocks(statement, "rate_based_statement")
    assert attr(rate, "aggregate_key_type") == "IP"
    assert attr(rate, "limit") == "${var.rate_limit}"
    assert effective("waf", "rate_limit", env) == 2000


@pytest.mark.parametrize("env", ENVS)
def test_geo_restriction_follows_the_variable(env):
    (geo,) = [r for r in _dynamic_rules() if "geo_allowed_country_codes" in attr(r, "for_each")]
    (content,) = blocks(geo, "content")
    (action,) = blocks(content, "action")
    assert "block" in action
    (statement,) = blocks(content, "statement")
    (negation,) = blocks(statement, "not_statement")
    (inner,) = blocks(negation, "statement")
    (match,) = blocks(inner, "geo_match_statement")
    assert attr(match, "country_codes") == "${var.geo_allowed_country_codes}"
    assert effective("waf", "geo_allowed_country_codes", env) == ["JP"]


def test_rule_priorities_are_unique():
    priorities = [attr(r, "priority") for r in blocks(ACL, "rule")]
    for dyn in _dynamic_rules():
        (content,) = blocks(dyn, "content")
        p = attr(content, "priority")
        if p == "${rule.value}":
            priorities += list(WAF.locals["managed_rule_sets"].values())
        else:
            priorities.append(p)
    assert len(priorities) == len(set(priorities)) == 6


def test_waf_logs_redact_the_api_token():
    group = WAF.resource("aws_cloudwatch_log_group", "waf")
    assert attr(group, "name").startswith("aws-waf-logs-")
    logging = WAF.resource("aws_wafv2_web_acl_logging_configuration", "this")
    assert attr(logging, "log_destination_configs") == ["${aws_cloudwatch_log_group.waf.arn}"]
    (redacted,) = blocks(logging, "redacted_fields")
    (header,) = blocks(redacted, "single_header")
    assert attr(header, "name") == "x-api-token"
    assert attr(ACL, "scope") == "REGIONAL"
