# Enhanced monitoring role and the log groups RDS exports to. Creating the groups here (instead of
# letting RDS create them on first export) sets their retention and KMS key.

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

locals {
  instance_identifiers = concat([var.name], var.read_replica ? ["${var.name}-replica"] : [])
  exported_logs = {
    for pair in setproduct(local.instance_identifiers, ["postgresql", "upgrade"]) :
    "${pair[0]}/${pair[1]}" => "/aws/rds/instance/${pair[0]}/${pair[1]}"
  }
}

resource "aws_cloudwatch_log_group" "postgresql" {
  for_each = local.exported_logs

  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}
