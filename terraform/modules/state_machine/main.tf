# One STANDARD state machine (task tokens and .sync integrations need STANDARD) with its role, inline
# policy and vended-logs log group.

locals {
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          # Vended log delivery is configured through these account-level APIs, which take no resource ARN:
          # "*" is required (docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
          Sid    = "LogDelivery"
          Effect = "Allow"
          Action = [
            "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
          ]
          Resource = ["*"]
        },
        {
          # X-Ray has no resource-level permissions: "*" is the only valid Resource.
          Sid      = "XRayTraces"
          Effect   = "Allow"
          Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
          Resource = ["*"]
        },
      ],
      [
        for sid, statement in var.policy_statements : merge(
          { Sid = sid, Effect = statement.effect, Action = statement.actions, Resource = statement.resources },
          { for key, value in { Condition = statement.conditions } : key => value if value != null },
        )
      ],
    )
  })
}

resource "aws_iam_role" "this" {
  name        = "${var.name}-states"
  description = "Role of the ${var.name} state machine."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "this" {
  name   = "state-machine"
  role   = aws_iam_role.this.id
  policy = local.policy
}

# /aws/vendedlogs/ keeps the CloudWatch Logs resource policy that vended delivery needs under its size limit.
resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Encrypted with var.kms_key_arn when given; CloudWatch Logs encrypts every log group at rest otherwise (checkov cannot see the conditional).
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_285:Execution history logging is on (level ALL by default); only the state data is left out by default because it carries task tokens. var.state_machine_include_execution_data turns it on.
  name       = var.name
  type       = "STANDARD"
  role_arn   = aws_iam_role.this.arn
  definition = var.definition

  logging_configuration {
    log_destination        = "${trimsuffix(aws_cloudwatch_log_group.this.arn, ":*")}:*"
    level                  = var.log_level
    include_execution_data = var.include_execution_data
  }

  tracing_configuration {
    enabled = true
  }

  dynamic "encryption_configuration" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]
    content {
      type                              = "CUSTOMER_MANAGED_KMS_KEY"
      kms_key_id                        = encryption_configuration.value
      kms_data_key_reuse_period_seconds = 300
    }
  }

  # Step Functions checks the role's permissions when the machine is created (the managed EventBridge rules
  # of the .sync integrations): the policy must be attached first (terraform-aws-step-functions#61).
  depends_on = [aws_iam_role_policy.this]
}
