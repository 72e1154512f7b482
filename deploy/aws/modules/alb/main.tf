# Internet-facing ALB: HTTP only redirects, HTTPS (TLS 1.2+) forwards to the tasks. Two target
# groups and a test listener serve CodeDeploy blue/green: CodeDeploy moves the listeners'
# default actions between `blue` and `green`, so Terraform ignores those actions after creation.

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_76:The web ACL associated below comes from the waf module and runs AWSManagedRulesKnownBadInputsRuleSet (the Log4j rules); checkov's graph does not follow the module input. deploy/tests/test_aws_waf.py asserts the rule set.
  #checkov:skip=CKV_AWS_150:Deletion protection is var.deletion_protection: on in prod (asserted by deploy/tests/test_aws_alb.py), off in dev so the environment can be torn down.
  name               = var.name
  load_balancer_type = "application"
  internal           = false
  subnets            = var.public_subnet_ids
  security_groups    = [var.security_group_id]

  drop_invalid_header_fields = true
  desync_mitigation_mode     = "defensive"
  enable_deletion_protection = var.deletion_protection
  idle_timeout               = 60

  access_logs {
    bucket  = aws_s3_bucket.access_logs.id
    prefix  = "alb"
    enabled = true
  }

  depends_on = [aws_s3_bucket_policy.access_logs]
}

resource "aws_wafv2_web_acl_association" "this" {
  resource_arn = aws_lb.this.arn
  web_acl_arn  = var.web_acl_arn
}

locals {
  target_groups = toset(["blue", "green"])
}

resource "aws_lb_target_group" "this" {
  for_each = local.target_groups

  name                 = "${var.name}-${each.key}"
  port                 = var.app_port
  protocol             = "HTTP" # TLS ends at the ALB; the tasks are reachable only from its security group
  target_type          = "ip"   # Fargate (awsvpc)
  vpc_id               = var.vpc_id
  deregistration_delay = var.deregistration_delay

  health_check {
    path                = var.health_check_path
    port                = "traffic-port"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"
    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = aws_acm_certificate_validation.this.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this["blue"].arn
  }

  lifecycle {
    ignore_changes = [default_action] # CodeDeploy owns the blue/green switch
  }
}

resource "aws_lb_listener" "test" {
  load_balancer_arn = aws_lb.this.arn
  port              = var.test_listener_port
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = aws_acm_certificate_validation.this.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this["green"].arn
  }

  lifecycle {
    ignore_changes = [default_action] # CodeDeploy owns the blue/green switch
  }
}
