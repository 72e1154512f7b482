# ACM certificate with DNS validation (renewed automatically while the CNAME stays in place).

resource "aws_acm_certificate" "this" {
  domain_name       = var.domain_name
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true
  }
}

locals {
  use_route53 = var.route53_zone_id != ""
  validation_records = {
    for o in aws_acm_certificate.this.domain_validation_options : o.domain_name => {
      name  = o.resource_record_name
      type  = o.resource_record_type
      value = o.resource_record_value
    }
  }
}

resource "aws_route53_record" "validation" {
  for_each = local.use_route53 ? local.validation_records : {}

  zone_id         = var.route53_zone_id
  name            = each.value.name
  type            = each.value.type
  records         = [each.value.value]
  ttl             = 300
  allow_overwrite = true
}

# Waits until the certificate is issued (up to the timeout): without Route 53, create the records
# of the `acm_validation_records` output while this waits (see docs/deploy-aws.md).
resource "aws_acm_certificate_validation" "this" {
  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = local.use_route53 ? [for r in aws_route53_record.validation : r.fqdn] : null

  timeouts {
    create = "2h"
  }
}

resource "aws_route53_record" "api" {
  count = local.use_route53 ? 1 : 0

  zone_id = var.route53_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_lb.this.dns_name
    zone_id                = aws_lb.this.zone_id
    evaluate_target_health = true
  }
}
