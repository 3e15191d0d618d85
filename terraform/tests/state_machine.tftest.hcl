# The state_machine module on its own: STANDARD type, logging, tracing, encryption and the role.

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  name       = "test-machine"
  definition = "{\"StartAt\":\"Done\",\"States\":{\"Done\":{\"Type\":\"Succeed\"}}}"
  policy_statements = {
    InvokeFunctions = {
      actions   = ["lambda:InvokeFunction"]
      resources = ["arn:aws:lambda:us-east-1:123456789012:function:f", "arn:aws:lambda:us-east-1:123456789012:function:f:*"]
    }
  }
  log_retention_days = 90
  account_id         = "123456789012"
}

run "defaults" {
  command = plan

  module {
    source = "./modules/state_machine"
  }

  assert {
    condition = (
      aws_sfn_state_machine.this.name == "test-machine" &&
      aws_sfn_state_machine.this.type == "STANDARD" &&
      aws_sfn_state_machine.this.definition == var.definition
    )
    error_message = "A STANDARD machine (task tokens and .sync need it) with the given definition."
  }

  assert {
    condition = (
      aws_sfn_state_machine.this.logging_configuration[0].level == "ALL" &&
      aws_sfn_state_machine.this.logging_configuration[0].include_execution_data == false &&
      aws_sfn_state_machine.this.logging_configuration[0].log_destination == "arn:aws:logs:us-east-1:123456789012:log-group:mock:*"
    )
    error_message = "Executions log to the machine's own log group, without execution data by default."
  }

  assert {
    condition     = aws_sfn_state_machine.this.tracing_configuration[0].enabled == true
    error_message = "X-Ray tracing must be on."
  }

  assert {
    condition     = length(aws_sfn_state_machine.this.encryption_configuration) == 0
    error_message = "No customer key: AWS owned encryption."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/vendedlogs/states/test-machine" && aws_cloudwatch_log_group.this.retention_in_days == 90
    error_message = "The log group lives under /aws/vendedlogs/states/ with the retention."
  }

  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0] == {
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }
    error_message = "Only Step Functions, from this account, may assume the role."
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid] == ["LogDelivery", "XRayTraces", "InvokeFunctions"]
    error_message = "Policy = log delivery + X-Ray + the given statements."
  }
}

run "error_logging_and_kms" {
  command = plan

  module {
    source = "./modules/state_machine"
  }

  variables {
    log_level              = "ERROR"
    include_execution_data = true
    kms_key_arn            = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = (
      aws_sfn_state_machine.this.logging_configuration[0].level == "ERROR" &&
      aws_sfn_state_machine.this.logging_configuration[0].include_execution_data == true &&
      aws_sfn_state_machine.this.encryption_configuration[0].type == "CUSTOMER_MANAGED_KMS_KEY" &&
      aws_sfn_state_machine.this.encryption_configuration[0].kms_key_id == var.kms_key_arn &&
      aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn
    )
    error_message = "Log level, execution data and the customer key must be applied."
  }
}

run "bad_log_level" {
  command = plan

  module {
    source = "./modules/state_machine"
  }

  variables {
    log_level = "DEBUG"
  }

  expect_failures = [var.log_level]
}
