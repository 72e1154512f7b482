variable "project_id" {
  description = "Project that owns the network."
  type        = string
}

variable "name" {
  description = "Prefix of every resource name (e.g. todo-api-prod)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", var.name))
    error_message = "name must be a lowercase RFC 1035 label of at most 42 characters."
  }
}

variable "subnets" {
  description = "Subnets of the custom-mode VPC, keyed by a short name. The first region hosts Cloud Run (Direct VPC egress) and Cloud SQL."
  type = map(object({
    region = string
    cidr   = string
  }))

  validation {
    condition     = alltrue([for s in values(var.subnets) : can(cidrhost(s.cidr, 0))])
    error_message = "Every subnet cidr must be a valid IPv4 CIDR block."
  }
}

variable "run_subnet" {
  description = "Key in var.subnets of the subnet Cloud Run instances take their egress addresses from (Direct VPC egress)."
  type        = string

  validation {
    condition     = contains(keys(var.subnets), var.run_subnet)
    error_message = "run_subnet must be one of the keys of subnets."
  }
}

variable "private_service_range" {
  description = "CIDR reserved for private services access (the VPC peering Cloud SQL's private IPs come from). Must not overlap the subnets."
  type        = string
  default     = "10.0.16.0/20"

  validation {
    condition     = can(cidrhost(var.private_service_range, 0)) && tonumber(split("/", var.private_service_range)[1]) <= 24
    error_message = "private_service_range must be an IPv4 CIDR of /24 or larger (Cloud SQL needs at least a /24)."
  }
}

variable "http_target_tag" {
  description = "Network tag of instances that may receive HTTP(S) from Google's load balancers and health checkers."
  type        = string
  default     = "http-server"
}

variable "app_target_tag" {
  description = "Network tag of instances serving the application port (8080) behind the load balancer (GKE nodes in the alternative layout)."
  type        = string
  default     = "todo-api"
}

variable "run_egress_tag" {
  description = "Network tag Cloud Run puts on its Direct VPC egress traffic; the egress firewall rules key on it."
  type        = string
  default     = "todo-api-run"
}

variable "flow_log_sampling" {
  description = "Fraction of VPC flow logs kept (0-1]."
  type        = number
  default     = 0.5

  validation {
    condition     = var.flow_log_sampling > 0 && var.flow_log_sampling <= 1
    error_message = "flow_log_sampling must be in (0, 1]."
  }
}
