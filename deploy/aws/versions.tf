terraform {
  # 1.11: ephemeral resources and write-only arguments keep generated secrets out of the state.
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.7, < 4.0"
    }
  }

  # State in S3, one state per environment (and, as recommended, one AWS account per
  # environment). The block is partial on purpose: pass the rest at init time, e.g.
  #
  #   terraform init -backend-config=bucket=<state-bucket> \
  #                  -backend-config=key=todo-api/dev.tfstate \
  #                  -backend-config=region=ap-northeast-1
  #
  # The state bucket (versioned, SSE-KMS, public access blocked) is created once, outside this
  # configuration. use_lockfile takes a lock object next to the state (no DynamoDB table).
  # For a throw-away local trial, `terraform init -backend=false` skips it.
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
