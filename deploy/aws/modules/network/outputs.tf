output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "Public subnets (ALB), in availability-zone order."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets (tasks, database), in availability-zone order."
  value       = aws_subnet.private[*].id
}

output "alb_security_group_id" {
  description = "Security group of the ALB."
  value       = aws_security_group.alb.id
}

output "ecs_security_group_id" {
  description = "Security group of the ECS tasks (service and one-off tasks)."
  value       = aws_security_group.ecs.id
}

output "db_security_group_id" {
  description = "Security group of the database instances."
  value       = aws_security_group.db.id
}

output "nat_public_ips" {
  description = "Egress addresses of the tasks (for allow-lists elsewhere)."
  value       = aws_eip.nat[*].public_ip
}
