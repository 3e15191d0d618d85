# One Lambda function with its own execution role, inline policy and log group.

locals {
  zip_exists = fileexists(var.zip_path)
  # Keyed by the package's SHA-256, like the model's source archive: a new build is a new object.
  code_key = "code/lambda/${var.name}/${local.zip_exists ? filesha256(var.zip_path) : "missing"}.zip"
  # Lambda's limit is 4 KB for all keys and values together.
  environment_bytes = sum(concat([0], [for k, v in var.environment : length(k) + length(v)]))

  log_group_name = "/aws/lambda/${var.name}"

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "OwnLogGroup"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = ["${trimsuffix(aws_cloudwatch_log_group.this.arn, ":*")}:*"]
        },
        {
          # X-Ray has no resource-level permissions: "*" is the only valid Resource.
          Sid      = "XRayTraces"
          Effect   = "Allow"
          Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
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
  name        = "${var.name}-lambda"
  description = "Execution role of the ${var.name} Lambda function."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "this" {
  name   = "function"
  role   = aws_iam_role.this.id
  policy = local.policy
}

# Created here (not by Lambda on first write) so it has a retention and the role needs no logs:CreateLogGroup.
resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Encrypted with var.kms_key_arn when given; CloudWatch Logs encrypts every log group at rest otherwise (checkov cannot see the conditional).
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# The function is deployed from S3, not from `filename`: the AWS provider holds one lock, shared by every
# function of an apply, around each function created or updated from a local file, and keeps it through its
# 5-second wait for the function to become active: the twelve functions were created one after another (about
# a minute of every apply, on AWS as in local mode). From S3 they are created side by side.
resource "aws_s3_object" "code" {
  bucket = var.code_bucket
  key    = local.code_key
  source = var.zip_path
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs (S3, SNS, Step Functions); a VPC would add NAT or endpoints and nothing to protect.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by Step Functions, which retries and catches errors; a DLQ only applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_115:Concurrency is bounded by the state machines (one task per execution at a time); reserving concurrency would take it from the account's shared pool.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile; the zips are built reproducibly by `make build` and deployed by Terraform only.
  function_name = var.name
  description   = var.description
  role          = aws_iam_role.this.arn

  s3_bucket        = aws_s3_object.code.bucket
  s3_key           = aws_s3_object.code.key
  source_code_hash = local.zip_exists ? filebase64sha256(var.zip_path) : null
  handler          = var.handler
  runtime          = var.runtime
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout
  kms_key_arn      = var.kms_key_arn

  environment {
    variables = var.environment
  }

  tracing_config {
    mode = "Active"
  }

  lifecycle {
    precondition {
      condition     = local.zip_exists
      error_message = "Lambda package ${var.zip_path} not found: run `make build` in the repository root first."
    }
    precondition {
      condition     = var.build_info != null
      error_message = "build-info.json is missing next to ${var.zip_path}: run `make build` in the repository root first."
    }
    precondition {
      condition     = var.build_info == null || try("python${var.build_info.python}" == var.runtime, false)
      error_message = "The zips were built for Python ${try(var.build_info.python, "?")} but lambda_runtime is ${var.runtime}: rebuild with `make build LAMBDA_PYTHON=${trimprefix(var.runtime, "python")}` or set lambda_runtime = \"python${try(var.build_info.python, "?")}\"."
    }
    precondition {
      condition     = var.build_info == null || try(var.build_info.architecture == var.architecture, false)
      error_message = "The zips were built for ${try(var.build_info.architecture, "?")} but lambda_architecture is ${var.architecture}: rebuild with `make build LAMBDA_ARCH=${var.architecture}` or set lambda_architecture = \"${try(var.build_info.architecture, "?")}\"."
    }
    precondition {
      condition     = local.environment_bytes <= 4096
      error_message = "The environment of ${var.name} is ${local.environment_bytes} bytes; Lambda allows 4096 (shorten hyperparameters or model_environment)."
    }
  }

  # The role's policy and the log group must exist before the first invocation can log or touch S3.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}
