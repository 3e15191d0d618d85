# The storage module on its own: a private, encrypted, versioned, TLS-only bucket with lifecycle rules.

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  bucket_name                        = "test-labeling-bucket"
  force_destroy                      = false
  noncurrent_version_expiration_days = 30
  intermediate_expiration_days       = 7
}

run "bucket" {
  command = plan

  module {
    source = "./modules/storage"
  }

  assert {
    condition     = aws_s3_bucket.this.bucket == "test-labeling-bucket" && aws_s3_bucket.this.force_destroy == false
    error_message = "The bucket keeps its objects on destroy unless force_destroy is set."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_acls &&
      aws_s3_bucket_public_access_block.this.block_public_policy &&
      aws_s3_bucket_public_access_block.this.ignore_public_acls &&
      aws_s3_bucket_public_access_block.this.restrict_public_buckets
    )
    error_message = "All public access must be blocked."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.this.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }

  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256" &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled == false
    )
    error_message = "Without a customer key the bucket uses SSE-S3."
  }

  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be enabled."
  }

  assert {
    condition = jsondecode(aws_s3_bucket_policy.this.policy).Statement == [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = ["arn:aws:s3:::mock-bucket", "arn:aws:s3:::mock-bucket/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
    error_message = "The bucket policy must deny every request without TLS."
  }

  assert {
    condition = {
      for rule in aws_s3_bucket_lifecycle_configuration.this[0].rule : rule.id => rule.status
      } == {
      "abort-incomplete-multipart-uploads" = "Enabled"
      "expire-noncurrent-versions"         = "Enabled"
      "expire-intermediate-objects"        = "Enabled"
    }
    error_message = "Three lifecycle rules, all enabled."
  }

  assert {
    condition = (
      [for r in aws_s3_bucket_lifecycle_configuration.this[0].rule : r.abort_incomplete_multipart_upload[0].days_after_initiation if r.id == "abort-incomplete-multipart-uploads"][0] == 1 &&
      [for r in aws_s3_bucket_lifecycle_configuration.this[0].rule : r.noncurrent_version_expiration[0].noncurrent_days if r.id == "expire-noncurrent-versions"][0] == 30 &&
      [for r in aws_s3_bucket_lifecycle_configuration.this[0].rule : r.expiration[0].days if r.id == "expire-intermediate-objects"][0] == 7
    )
    error_message = "Incomplete uploads are aborted after a day, old versions and intermediates expire after the configured days."
  }

  assert {
    condition = [for r in aws_s3_bucket_lifecycle_configuration.this[0].rule : r.filter[0].tag[0] if r.id == "expire-intermediate-objects"][0] == {
      key   = "intermediate"
      value = "true"
    }
    error_message = "Only objects tagged intermediate=true (what s3io.JsonLinesWriter tags) expire early."
  }

  assert {
    condition     = length(aws_s3_bucket_logging.this) == 0
    error_message = "No access logging without a log bucket."
  }
}

run "kms_and_logging" {
  command = plan

  module {
    source = "./modules/storage"
  }

  variables {
    kms_key_arn            = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    access_log_bucket_name = "central-access-logs"
    force_destroy          = true
  }

  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" &&
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled == true
    )
    error_message = "With a customer key the bucket uses SSE-KMS with an S3 bucket key."
  }

  assert {
    condition     = aws_s3_bucket_logging.this[0].target_bucket == "central-access-logs" && aws_s3_bucket.this.force_destroy
    error_message = "Access logs go to the given bucket; force_destroy is passed through."
  }
}

run "lifecycle_owned_elsewhere" {
  command = plan

  module {
    source = "./modules/storage"
  }

  variables {
    manage_lifecycle = false
  }

  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.this) == 0 && aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "With manage_lifecycle = false the bucket gets no lifecycle configuration, and keeps everything else."
  }
}
