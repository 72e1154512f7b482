# The deployment requirements' chain, exactly: internet -> ALB (80, 443) -> tasks (8000, from the ALB's group
# only) -> database (5432, from the tasks' group only). Rules are separate resources so the
# groups can reference each other without a cycle; a group without egress rules has none
# (Terraform removes the default allow-all egress rule AWS creates).

resource "aws_security_group" "alb" {
  #checkov:skip=CKV2_AWS_5:Attached to the aws_lb in the alb module through the root's module wiring, which checkov's graph does not follow across modules; deploy/tests/test_aws_network.py asserts the wiring.
  name        = "${var.name}-alb"
  description = "todo-api ALB: HTTP/HTTPS from the internet, to the tasks on the app port"
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${var.name}-alb" }
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from anywhere (the public API)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  #checkov:skip=CKV_AWS_260:Port 80 is open to the world only so the ALB can answer with a 301 to HTTPS; no listener forwards plain HTTP to the tasks.
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from anywhere, answered only with a redirect to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "alb_test_listener" {
  for_each = toset(var.test_listener_cidr_blocks)

  security_group_id = aws_security_group.alb.id
  description       = "CodeDeploy test listener (green tasks before the traffic shift), trusted range only"
  ip_protocol       = "tcp"
  from_port         = var.test_listener_port
  to_port           = var.test_listener_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the tasks on the app port (traffic and health checks)"
  ip_protocol                  = "tcp"
  from_port                    = var.app_port
  to_port                      = var.app_port
  referenced_security_group_id = aws_security_group.ecs.id
}

resource "aws_security_group" "ecs" {
  #checkov:skip=CKV2_AWS_5:Attached to the aws_ecs_service in the ecs module through the root's module wiring, which checkov's graph does not follow across modules; deploy/tests/test_aws_network.py asserts the wiring.
  name        = "${var.name}-ecs"
  description = "todo-api tasks: app port from the ALB only; out to the database and AWS APIs"
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${var.name}-ecs" }
}

resource "aws_vpc_security_group_ingress_rule" "ecs_from_alb" {
  security_group_id            = aws_security_group.ecs.id
  description                  = "App port from the ALB only (the metrics port 9000 is not reachable)"
  ip_protocol                  = "tcp"
  from_port                    = var.app_port
  to_port                      = var.app_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "ecs_to_db" {
  security_group_id            = aws_security_group.ecs.id
  description                  = "PostgreSQL on the database (primary and replica)"
  ip_protocol                  = "tcp"
  from_port                    = var.db_port
  to_port                      = var.db_port
  referenced_security_group_id = aws_security_group.db.id
}

# Fargate pulls the image (ECR), reads secrets (Secrets Manager) and ships logs and traces
# (CloudWatch, X-Ray) over HTTPS to regional AWS endpoints, reached through the NAT gateway;
# their addresses are not a fixed, small set, so this rule cannot name them more narrowly.
# (Interface VPC endpoints would allow that at about $7.3 per endpoint and zone a month.)
resource "aws_vpc_security_group_egress_rule" "ecs_to_aws_apis" {
  security_group_id = aws_security_group.ecs.id
  description       = "HTTPS to AWS APIs (ECR, Secrets Manager, CloudWatch, X-Ray) via NAT"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "db" {
  #checkov:skip=CKV2_AWS_5:Attached to the aws_db_instance in the database module through the root's module wiring, which checkov's graph does not follow across modules; deploy/tests/test_aws_network.py asserts the wiring.
  name        = "${var.name}-db"
  description = "todo-api PostgreSQL: from the tasks only, no egress"
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${var.name}-db" }
}

resource "aws_vpc_security_group_ingress_rule" "db_from_ecs" {
  security_group_id            = aws_security_group.db.id
  description                  = "PostgreSQL from the tasks (service, migrate and db-setup tasks)"
  ip_protocol                  = "tcp"
  from_port                    = var.db_port
  to_port                      = var.db_port
  referenced_security_group_id = aws_security_group.ecs.id
}
