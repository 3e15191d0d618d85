# The workflow bucket: private, owner-enforced, encrypted, versioned, TLS-only, with lifecycle rules for
# what the workflow leaves behind.

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice of the account owner; the workflow's outputs can be regenerated from its inputs.
  #checkov:skip=CKV2_AWS_62:No consumer of S3 event notifications: the state machines drive every step.
  #checkov:skip=CKV_AWS_145:Default encryption is SSE-KMS with var.kms_key_arn when given, SSE-S3 otherwise (checkov cannot see the conditional).
  #checkov:skip=CKV_AWS_18:Server access logging is enabled with var.access_log_bucket_name (an existing log bucket); a log bucket is not created here.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off: access is decided by IAM and the bucket policy only
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # One KMS data key per bucket instead of per object: far fewer KMS calls for millions of small objects.
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  # With block_public_policy on, S3 evaluates the policy against the block: set the block first.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = var.manage_lifecycle ? 1 : 0

  bucket = aws_s3_bucket.this.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {
      prefix = "" # the whole bucket
    }
    # A writer that died between CreateMultipartUpload and Complete leaves billed, invisible parts.
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {
      prefix = "" # the whole bucket
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }

  rule {
    # Training channels and transform input: rebuilt by a retried round, useless after it.
    id     = "expire-intermediate-objects"
    status = "Enabled"
    filter {
      tag {
        key   = "intermediate"
        value = "true"
      }
    }
    expiration {
      days = var.intermediate_expiration_days
    }
  }

  # Lifecycle rules on noncurrent versions need versioning to exist first.
  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log_bucket_name == null ? 0 : 1

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket_name
  target_prefix = "${var.bucket_name}/"
}
