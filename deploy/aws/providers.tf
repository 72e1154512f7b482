provider "aws" {
  region = var.aws_region
  # Refuse to run against another account than the environment's (e.g. dev.tfvars on prod).
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null

  default_tags {
    tags = {
      Project     = "todo-api"
      Environment = var.environment
      ManagedBy   = "terraform"
      Repository  = var.repository_id
    }
  }
}
