variable "name" {
  description = "Name prefix of every resource (todo-api-<environment>)."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be an IPv4 CIDR block."
  }
}

variable "availability_zones" {
  description = "The two availability zones, in the order of the subnet lists."
  type        = list(string)
  default     = ["ap-northeast-1a", "ap-northeast-1c"]

  validation {
    condition     = length(var.availability_zones) == 2
    error_message = "The deployment requirements spreads over exactly two availability zones."
  }
}

variable "public_subnet_cidrs" {
  description = "Public subnets (ALB, NAT gateways), one per availability zone."
  type        = list(string)
  default     = ["10.0.1.0/24", "10.0.2.0/24"]

  validation {
    condition     = length(var.public_subnet_cidrs) == 2 && alltrue([for c in var.public_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "Two IPv4 CIDR blocks, one per availability zone."
  }
}

variable "private_subnet_cidrs" {
  description = "Private subnets (ECS tasks, RDS), one per availability zone."
  type        = list(string)
  default     = ["10.0.10.0/24", "10.0.20.0/24"]

  validation {
    condition     = length(var.private_subnet_cidrs) == 2 && alltrue([for c in var.private_subnet_cidrs : can(cidrhost(c, 0))])
    error_message = "Two IPv4 CIDR blocks, one per availability zone."
  }
}

variable "nat_gateway_count" {
  description = "NAT gateways: 1 (dev: one shared gateway, cheaper, but its zone is a single point of failure for egress) or 2 (prod: one per zone)."
  type        = number

  validation {
    condition     = contains([1, 2], var.nat_gateway_count)
    error_message = "nat_gateway_count is 1 or 2."
  }
}

variable "app_port" {
  description = "Port the application container listens on (the only port the ALB reaches)."
  type        = number
  default     = 8000
}

variable "db_port" {
  description = "PostgreSQL port (the only port the tasks reach on the database)."
  type        = number
  default     = 5432
}

variable "test_listener_port" {
  description = "Port of the ALB's CodeDeploy test listener."
  type        = number
  default     = 8443
}

variable "test_listener_cidr_blocks" {
  description = "Who may reach the test listener (the green tasks before traffic shifts), e.g. an office or VPN range. Empty: nobody from outside."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.test_listener_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "IPv4 CIDR blocks, and not 0.0.0.0/0: the test listener serves unreleased code."
  }
}

variable "log_retention_days" {
  description = "Retention of the VPC flow logs."
  type        = number
}

variable "logs_kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string
}
