# dev: db-f1-micro, ZONAL, no replica, no deletion protection (locals.environments.dev).
# terraform init -backend-config="bucket=<project>-tfstate" -backend-config="prefix=todo-api/dev"
# terraform apply -var-file=dev.tfvars
environment       = "dev"
project_id        = "todo-api-dev-example"
domain            = "api-dev.todo.example.com"
image             = "asia-northeast1-docker.pkg.dev/todo-api-dev-example/todo-api/todo-api:bootstrap"
github_owner      = "example-org"
github_repository = "todo-api"
build_branch      = "^main$"

# The required geo restriction (Cloud Armor): Japan only; add up to three more countries.
geo_allowed_region_codes = ["JP"]

alert_email = "todo-api-dev-alerts@example.com"
rust_log    = "debug,sqlx=warn"

# dev keeps sign-up open for trials (anyone who passes Cloud Armor can create an account).
signup = true
authz  = "team"
# The first admin (replace): adopted by the migrate job while no admin exists.
bootstrap_admin_email = "admin@dev.todo.example.com"
