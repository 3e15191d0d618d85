# Shared mock data for every test file (loaded with mock_provider "aws" { source = "./tests" }).
#
# mock_provider invents values for computed attributes; ARNs must look like ARNs because the
# configuration builds policies and definitions from them. The overrides give each resource the ARN AWS
# would give it with the default variables (name_prefix = "active-labeling", region us-east-1,
# account 123456789012), so that assertions can name exact resources.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
    user_id    = "AIDATERRAFORMTEST"
    id         = "123456789012"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition          = "aws"
    dns_suffix         = "amazonaws.com"
    reverse_dns_prefix = "com.amazonaws"
    id                 = "aws"
  }
}

# The provider computes these paths from a static table (no API call); the mock gives us-east-1's.
override_data {
  target = data.aws_sagemaker_prebuilt_ecr_image.blazingtext
  values = {
    registry_id   = "811284229777"
    registry_path = "811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:1"
    id            = "811284229777"
  }
}

override_data {
  target = data.aws_sagemaker_prebuilt_ecr_image.scikit_learn
  values = {
    registry_id   = "683313688378"
    registry_path = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-py312-cpu-py3"
    id            = "683313688378"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn       = "arn:aws:iam::123456789012:role/mock-role"
    unique_id = "AROAMOCKROLE"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn           = "arn:aws:lambda:us-east-1:123456789012:function:mock"
    invoke_arn    = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:mock/invocations"
    qualified_arn = "arn:aws:lambda:us-east-1:123456789012:function:mock:$LATEST"
  }
}

mock_resource "aws_sfn_state_machine" {
  defaults = {
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:mock"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::mock-bucket"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:us-east-1:123456789012:mock"
  }
}

mock_resource "aws_ecr_repository" {
  defaults = {
    arn            = "arn:aws:ecr:us-east-1:123456789012:repository/mock"
    repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mock"
    registry_id    = "123456789012"
  }
}

# --- the root module's resources, as AWS would name them ---------------------------------------------------

override_resource {
  target = aws_iam_role.sagemaker
  values = { arn = "arn:aws:iam::123456789012:role/active-labeling-sagemaker" }
}

override_resource {
  target = aws_sns_topic.main
  values = { arn = "arn:aws:sns:us-east-1:123456789012:active-labeling-labeling-tasks" }
}

override_resource {
  target = aws_ecr_repository.main
  values = {
    arn            = "arn:aws:ecr:us-east-1:123456789012:repository/active-labeling/text-classifier"
    repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/active-labeling/text-classifier"
  }
}

override_resource {
  target = module.storage.aws_s3_bucket.this
  values = { arn = "arn:aws:s3:::active-labeling-123456789012-us-east-1" }
}

override_resource {
  target = module.round_state_machine.aws_sfn_state_machine.this
  values = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:active-labeling-active-learning-round" }
}

override_resource {
  target = module.loop_state_machine.aws_sfn_state_machine.this
  values = { arn = "arn:aws:states:us-east-1:123456789012:stateMachine:active-labeling-active-learning-loop" }
}

override_resource {
  target = module.lambda["validate_input"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-validate-input" }
}

override_resource {
  target = module.lambda["bootstrap_manifest"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-bootstrap-manifest" }
}

override_resource {
  target = module.lambda["prepare_human_batch"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-prepare-human-batch" }
}

override_resource {
  target = module.lambda["request_callback_labels"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-request-callback-labels" }
}

override_resource {
  target = module.lambda["merge_labels"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-merge-labels" }
}

override_resource {
  target = module.lambda["create_validation_set"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-create-validation-set" }
}

override_resource {
  target = module.lambda["prepare_training"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-prepare-training" }
}

override_resource {
  target = module.lambda["prepare_inference"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-prepare-inference" }
}

override_resource {
  target = module.lambda["select_and_auto_label"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-select-and-auto-label" }
}

override_resource {
  target = module.lambda["export_final"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-export-final" }
}

override_resource {
  target = module.lambda["record_failure"].aws_lambda_function.this
  values = { arn = "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-record-failure" }
}
