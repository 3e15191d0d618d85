# The lambda_function module on its own: the function, its role, policy and log group, and the
# preconditions that stop a deployment of missing or mismatched packages.

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  name         = "test-fn"
  description  = "A test function."
  handler      = "fixture.handler.lambda_handler"
  zip_path     = "tests/fixtures/handler.zip"
  code_bucket  = "workflow-bucket"
  build_info   = { python = "3.12", architecture = "x86_64" }
  runtime      = "python3.12"
  architecture = "x86_64"
  memory_size  = 512
  timeout      = 900
  environment  = { POWERTOOLS_SERVICE_NAME = "test_fn" }
  policy_statements = {
    WorkflowBucketObjects = { actions = ["s3:GetObject"], resources = ["arn:aws:s3:::bucket/*"] }
    PassNothing = {
      actions    = ["sns:Publish"]
      resources  = ["arn:aws:sns:us-east-1:123456789012:topic"]
      conditions = { StringEquals = { "aws:RequestedRegion" = ["us-east-1"] } }
    }
  }
  log_retention_days = 30
}

run "function" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  assert {
    condition = (
      aws_lambda_function.this.function_name == "test-fn" &&
      aws_lambda_function.this.handler == "fixture.handler.lambda_handler" &&
      aws_lambda_function.this.runtime == "python3.12" &&
      aws_lambda_function.this.architectures == tolist(["x86_64"]) &&
      aws_lambda_function.this.memory_size == 512 &&
      aws_lambda_function.this.timeout == 900 &&
      aws_lambda_function.this.filename == null &&
      aws_lambda_function.this.s3_bucket == "workflow-bucket" &&
      aws_lambda_function.this.s3_key == "code/lambda/test-fn/${filesha256("tests/fixtures/handler.zip")}.zip" &&
      aws_lambda_function.this.source_code_hash == filebase64sha256("tests/fixtures/handler.zip")
    )
    error_message = "The function must be deployed from its zip, uploaded to S3, with the given runtime, architecture and size."
  }

  assert {
    condition = (
      aws_s3_object.code.bucket == "workflow-bucket" &&
      aws_s3_object.code.key == aws_lambda_function.this.s3_key &&
      aws_s3_object.code.source == "tests/fixtures/handler.zip"
    )
    error_message = "The zip must be uploaded under code/lambda/<name>/<its SHA-256>.zip, so that a new build is a new object."
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "X-Ray tracing must be Active."
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables == tomap({ POWERTOOLS_SERVICE_NAME = "test_fn" })
    error_message = "The environment must be passed through unchanged."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/test-fn" && aws_cloudwatch_log_group.this.retention_in_days == 30
    error_message = "The function's log group must exist with the retention."
  }

  assert {
    condition = (
      aws_iam_role.this.name == "test-fn-lambda" &&
      jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Principal.Service == "lambda.amazonaws.com"
    )
    error_message = "One role per function, assumable by Lambda only."
  }

  assert {
    condition = jsonencode(jsondecode(aws_iam_role_policy.this.policy).Statement) == jsonencode([
      {
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Effect   = "Allow"
        Resource = ["arn:aws:logs:us-east-1:123456789012:log-group:mock:*"]
        Sid      = "OwnLogGroup"
      },
      {
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Effect   = "Allow"
        Resource = ["*"]
        Sid      = "XRayTraces"
      },
      {
        Action    = ["sns:Publish"]
        Condition = { StringEquals = { "aws:RequestedRegion" = ["us-east-1"] } }
        Effect    = "Allow"
        Resource  = ["arn:aws:sns:us-east-1:123456789012:topic"]
        Sid       = "PassNothing"
      },
      {
        Action   = ["s3:GetObject"]
        Effect   = "Allow"
        Resource = ["arn:aws:s3:::bucket/*"]
        Sid      = "WorkflowBucketObjects"
      },
    ])
    error_message = "Policy = own log group + X-Ray + the given statements (conditions kept): ${aws_iam_role_policy.this.policy}"
  }
}

run "kms_key" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = (
      aws_lambda_function.this.kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
      aws_cloudwatch_log_group.this.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    )
    error_message = "The customer key must encrypt the environment and the log group."
  }
}

run "missing_zip" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    zip_path = "tests/fixtures/does-not-exist.zip"
  }

  expect_failures = [aws_lambda_function.this]
}

run "missing_build_info" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    build_info = null
  }

  expect_failures = [aws_lambda_function.this]
}

run "runtime_mismatch" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    runtime = "python3.13"
  }

  expect_failures = [aws_lambda_function.this]
}

run "architecture_mismatch" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    architecture = "arm64"
  }

  expect_failures = [aws_lambda_function.this]
}

run "environment_too_large" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    environment = { MODEL_CONFIG = join("", [for i in range(410) : "0123456789"]) }
  }

  expect_failures = [aws_lambda_function.this]
}

run "bad_sid" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    policy_statements = { "not-a-sid" = { actions = ["s3:GetObject"], resources = ["arn:aws:s3:::bucket/*"] } }
  }

  expect_failures = [var.policy_statements]
}
