# One provider for the whole stack. Child modules only declare required_providers.
#
# Local-endpoint mode: set var.aws_endpoint_url (e.g. the embedded AWS of `make run`, a moto server on
# 127.0.0.1) and every service this stack uses is sent there, with test credentials and without the
# account/credential/metadata look-ups a local endpoint cannot answer. When the variable is null (the
# default) none of this is set and the provider behaves exactly as on AWS.
provider "aws" {
  region = var.region

  access_key                  = local.local_mode ? "testing" : null
  secret_key                  = local.local_mode ? "testing" : null
  skip_credentials_validation = local.local_mode
  skip_requesting_account_id  = local.local_mode
  skip_metadata_api_check     = local.local_mode
  s3_use_path_style           = local.local_mode
  # A local endpoint answers at once or never, so no 25 retries with backoff; but 3 attempts, not 1: the
  # embedded moto server answers 500 when parallel requests race on one of its dicts (seen in CI: DescribeAlarms
  # while other alarms were being created, "dictionary changed size during iteration"), and the SDK retries a 500.
  max_retries = local.local_mode ? 3 : null

  dynamic "endpoints" {
    for_each = local.local_mode ? [var.aws_endpoint_url] : []
    content {
      cloudwatch = endpoints.value
      ecr        = endpoints.value
      events     = endpoints.value
      iam        = endpoints.value
      kms        = endpoints.value
      lambda     = endpoints.value
      logs       = endpoints.value
      s3         = endpoints.value
      sagemaker  = endpoints.value
      sfn        = endpoints.value
      sns        = endpoints.value
      sts        = endpoints.value
      xray       = endpoints.value
    }
  }

  default_tags {
    tags = local.tags
  }
}
