terraform {
  # The same floor as the main configuration (S3 native locking needs 1.10, write-only 1.11).
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
  }

  # Local state on purpose: this configuration creates the bucket every other state lives in.
  # Keep terraform.tfstate of this directory (it holds no secret), or move it into the new bucket
  # afterwards (docs/deploy-aws.md, "From an empty account to the first deploy").
}

provider "aws" {
  region              = var.aws_region
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null

  default_tags {
    tags = {
      Project   = "todo-api"
      ManagedBy = "terraform"
      Purpose   = "terraform-state"
    }
  }
}
