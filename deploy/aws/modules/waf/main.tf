# AWS WAF v2 web ACL for the ALB (the alb module associates it): reputation list, AWS managed common, known-bad-inputs (incl. Log4j)
# and SQL injection rule sets, a per-IP rate limit and an optional geo restriction. Rules are
# evaluated by priority; cheap, decisive ones first.

locals {
  managed_rule_sets = {
    # name = priority
    AWSManagedRulesAmazonIpReputationList = 10
    AWSManagedRulesCommonRuleSet          = 20
    AWSManagedRulesKnownBadInputsRuleSet  = 30
    AWSManagedRulesSQLiRuleSet            = 40
  }
}

resource "aws_wafv2_web_acl" "this" {
  name        = var.name
  description = "todo-api: managed rule sets, rate limit, geo restriction"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  dynamic "rule" {
    for_each = length(var.geo_allowed_country_codes) > 0 ? [1] : []
    content {
      name     = "geo-restriction"
      priority = 0

      action {
        block {}
      }

      statement {
        not_statement {
          statement {
            geo_match_statement {
              country_codes = var.geo_allowed_country_codes
            }
          }
        }
      }

      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${var.name}-geo-restriction"
        sampled_requests_enabled   = true
      }
    }
  }

  rule {
    name     = "rate-limit-per-ip"
    priority = 5

    action {
      block {}
    }

    statement {
      rate_based_statement {
        limit                 = var.rate_limit
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-rate-limit"
      sampled_requests_enabled   = true
    }
  }

  dynamic "rule" {
    for_each = local.managed_rule_sets
    content {
      name     = rule.key
      priority = rule.value

      override_action {
        none {} # the rule groups' own block actions apply
      }

      statement {
        managed_rule_group_statement {
          vendor_name = "AWS"
          name        = rule.key
        }
      }

      visibility_config {
        cloudwatch_metrics_enabled = true
        metric_name                = "${var.name}-${rule.key}"
        sampled_requests_enabled   = true
      }
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }
}
