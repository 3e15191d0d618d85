data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

# The region's built-in BlazingText image (a static lookup in the provider: no API call).
data "aws_sagemaker_prebuilt_ecr_image" "blazingtext" {
  count = var.model_preset == "blazingtext" && var.training_image == null ? 1 : 0

  repository_name = "blazingtext"
  image_tag       = "1"
}

# The region's scikit-learn framework image: the bundled preset runs the project's model on it in script mode.
data "aws_sagemaker_prebuilt_ecr_image" "scikit_learn" {
  count = var.model_preset == "bundled" && var.training_image == null ? 1 : 0

  repository_name = "sagemaker-scikit-learn"
  image_tag       = local.scikit_learn_image_tag
}

# The bundled preset's code, model code and embedding model (make build): keyed by its SHA-256, so a new
# build is a new object, and training jobs started after an apply read the new archive.
resource "aws_s3_object" "source_archive" {
  count = var.model_preset == "bundled" ? 1 : 0

  bucket = module.storage.bucket_name
  key    = "code/text-classifier/${fileexists(local.source_archive_path) ? filesha256(local.source_archive_path) : "missing"}/sourcedir.tar.gz"
  source = local.source_archive_path

  lifecycle {
    precondition {
      condition     = fileexists(local.source_archive_path)
      error_message = "The bundled preset's source archive ${local.source_archive_path} is missing: run `make build` first."
    }
  }
}

# --- storage --------------------------------------------------------------------------------------------

module "storage" {
  source = "./modules/storage"

  bucket_name                        = local.bucket_name
  force_destroy                      = var.force_destroy
  kms_key_arn                        = var.kms_key_arn
  manage_lifecycle                   = var.manage_bucket_lifecycle
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
  intermediate_expiration_days       = var.intermediate_expiration_days
  access_log_bucket_name             = var.access_log_bucket_name
}

# --- callback labeling backend: tasks are announced on this topic ------------------------------------------

resource "aws_sns_topic" "main" {
  name = "${var.name_prefix}-labeling-tasks"
  # SNS encrypts at rest only with KMS: the account's AWS managed key unless a customer key is given.
  kms_master_key_id = coalesce(var.kms_key_arn, "alias/aws/sns")
}

# --- the bundled text-classifier container (model_preset = "bundled_image") is pushed here -------------------------

resource "aws_ecr_repository" "main" {
  #checkov:skip=CKV_AWS_136:Encrypted with var.kms_key_arn (KMS) when given, with AES256 otherwise (ECR always encrypts at rest; checkov cannot see the conditional).
  name                 = "${var.name_prefix}/text-classifier"
  image_tag_mutability = "IMMUTABLE" # a model run can always be traced back to the exact image
  force_delete         = var.force_destroy

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = var.kms_key_arn == null ? "AES256" : "KMS"
    kms_key         = var.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "main" {
  repository = aws_ecr_repository.main.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Drop untagged layers of superseded pushes after a week"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 7 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the 30 most recent tagged images"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = 30 }
        action       = { type = "expire" }
      },
    ]
  })
}

# --- Lambda functions: one per directory under functions/ ------------------------------------------------

module "lambda" {
  source   = "./modules/lambda_function"
  for_each = local.functions

  name         = local.function_settings[each.key].name
  description  = each.value.description
  handler      = local.function_settings[each.key].handler
  zip_path     = local.function_settings[each.key].zip_path
  code_bucket  = module.storage.bucket_name
  build_info   = local.build_info
  runtime      = var.lambda_runtime
  architecture = var.lambda_architecture
  memory_size  = local.function_settings[each.key].memory_size
  timeout      = local.function_settings[each.key].timeout
  environment  = local.function_environment[each.key]

  policy_statements  = local.function_policy_statements[each.key]
  log_retention_days = var.log_retention_days
  kms_key_arn        = var.kms_key_arn
}

# --- state machines: definitions are the repository's ASL files, rendered --------------------------------------
#
# jsonencode(jsondecode(...)) fails the plan on invalid JSON and normalises whitespace, so a cosmetic edit of
# an ASL file does not show up as a change.

module "round_state_machine" {
  source = "./modules/state_machine"

  name = local.state_machine_names.round
  definition = jsonencode(jsondecode(templatefile(local.asl_templates.round,
    local.function_arn_placeholders,
  )))
  policy_statements      = local.round_policy_statements
  log_level              = var.state_machine_log_level
  include_execution_data = var.state_machine_include_execution_data
  log_retention_days     = var.log_retention_days
  kms_key_arn            = var.kms_key_arn
  account_id             = local.account_id
}

module "loop_state_machine" {
  source = "./modules/state_machine"

  name = local.state_machine_names.loop
  definition = jsonencode(jsondecode(templatefile(local.asl_templates.loop,
    merge(local.function_arn_placeholders, {
      round_state_machine_arn = module.round_state_machine.arn
      sagemaker_role_arn      = aws_iam_role.sagemaker.arn
    }),
  )))
  policy_statements      = local.loop_policy_statements
  log_level              = var.state_machine_log_level
  include_execution_data = var.state_machine_include_execution_data
  log_retention_days     = var.log_retention_days
  kms_key_arn            = var.kms_key_arn
  account_id             = local.account_id
}
