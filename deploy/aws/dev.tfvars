# dev: smallest footprint that still runs the production topology (same modules, same pipeline).
# terraform plan -var-file=dev.tfvars
environment = "dev"
# allowed_account_ids = ["111111111111"] # the dev account: refuse to apply anywhere else

domain_name     = "api-dev.todo.example.com" # replace with your name
route53_zone_id = ""                         # set when the zone is in Route 53

# One NAT gateway for both zones (~$45/month saved; egress depends on ap-northeast-1a).
nat_gateway_count = 1

db_instance_class        = "db.t3.micro"
db_multi_az              = false
db_read_replica          = false
db_allocated_storage     = 20
db_max_allocated_storage = 50
deletion_protection      = false

# db.t3.micro allows about 80 connections: 10 tasks x 5 leaves room for the one-off tasks.
# dev keeps sign-up open for trials (anyone who passes WAF can create an account).
signup = true
authz  = "team"
# The first admin (replace): adopted by the migrate task while no admin exists.
bootstrap_admin_email = "admin@dev.todo.example.com"

db_max_connections_per_task = 5
rust_log                    = "info,todo_api=debug"

# Logs are kept a year in both environments: a compliance floor, not a cost lever (dev volume is tiny).
log_retention_days        = 365
access_log_retention_days = 30
alarm_email               = ""

repository_id            = "example-org/todo-api" # replace with your GitHub owner/name
require_approval         = false
deployment_config_name   = "CodeDeployDefault.ECSAllAtOnce"
termination_wait_minutes = 5
