# prod: db-custom-2-7680 (the required db-n1-standard-2), REGIONAL (HA), read replica, deletion
# protection, 365-day logs, builds need approval (locals.environments.prod).
# terraform init -backend-config="bucket=<project>-tfstate" -backend-config="prefix=todo-api/prod"
# terraform apply -var-file=prod.tfvars
environment       = "prod"
project_id        = "todo-api-prod-example"
domain            = "api.todo.example.com"
image             = "asia-northeast1-docker.pkg.dev/todo-api-prod-example/todo-api/todo-api:bootstrap"
github_owner      = "example-org"
github_repository = "todo-api"
# The same branch as dev: every prod build waits for a manual approval in Cloud Build.
build_branch = "^main$"

# The required geo restriction: Japan only (the readiness endpoint stays open to the uptime checkers).
geo_allowed_region_codes = ["JP"]

alert_email = "todo-api-oncall@example.com"
rust_log    = "info"

# TOKEN_PEPPER rotation (docs/deploy-gcp.md): bump the generation and set the previous version.
token_pepper_generation       = 1
token_pepper_previous_version = null

# Closed sign-up: only admins create users (POST /users with an admin's token); AUTHZ stays
# the original app's shared board among them ("strict": each user its own items).
signup = false
authz  = "team"
# The first admin (replace): adopted by the migrate job while no admin exists.
bootstrap_admin_email = "admin@todo.example.com"
