# prod: Multi-AZ everything, read replica, protected against deletion, canary deployments.
# terraform plan -var-file=prod.tfvars
environment = "prod"
# allowed_account_ids = ["222222222222"] # the prod account: refuse to apply anywhere else

domain_name     = "api.todo.example.com" # replace with your name
route53_zone_id = ""                     # set when the zone is in Route 53

# One NAT gateway per zone: losing a zone does not cut the other zone's egress.
nat_gateway_count = 2

db_instance_class        = "db.r5.large"
db_multi_az              = true
db_read_replica          = true
db_allocated_storage     = 100
db_max_allocated_storage = 500
deletion_protection      = true

# db.r5.large allows about 1,700 connections: 10 tasks x 20 is far below.
# Closed sign-up: only admins create users (POST /users with an admin's token). AUTHZ stays the
# original app's shared board ("team") among those invited users; "strict" confines each user to
# its own items.
signup = false
authz  = "team"
# The first admin (replace): adopted by the migrate task while no admin exists.
bootstrap_admin_email = "admin@todo.example.com"

db_max_connections_per_task = 20
rust_log                    = "info"

log_retention_days        = 365
access_log_retention_days = 365
alarm_email               = "" # e.g. "oncall@example.com"

repository_id            = "example-org/todo-api" # replace with your GitHub owner/name
require_approval         = true
deployment_config_name   = "CodeDeployDefault.ECSCanary10Percent5Minutes"
termination_wait_minutes = 60
