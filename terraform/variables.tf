# Inputs, grouped by concern. Every variable is typed and described; validations catch what AWS would
# only reject late (half-way through an apply, or in the middle of a labeling run).

# --- deployment --------------------------------------------------------------------------------------

variable "region" {
  description = "AWS region to deploy into (one `terraform apply` per region), e.g. eu-west-1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2,4}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region name such as us-east-1 or eu-west-1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (functions, roles, state machines, topic, bucket, log groups). 3-24 characters: lower-case letters, digits and hyphens, starting with a letter."
  type        = string
  default     = "active-labeling"

  validation {
    # 24 keeps every derived name inside its AWS limit: the longest function name is
    # <prefix>-request-callback-labels (<= 48 of 64), its role <prefix>-request-callback-labels-lambda
    # (<= 55 of 64), the derived bucket <prefix>-<account>-<region> (<= 63).
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix)) && !strcontains(var.name_prefix, "--")
    error_message = "name_prefix must be 3-24 characters of a-z, 0-9 and single hyphens, start with a letter and not end with a hyphen."
  }
  validation {
    condition     = !can(regex("^(xn--|sthree-|amzn-s3-demo-)", var.name_prefix))
    error_message = "name_prefix must not start with xn--, sthree- or amzn-s3-demo- (reserved S3 bucket name prefixes)."
  }
}

variable "tags" {
  description = "Tags added to every resource (through the provider's default_tags), on top of Project and ManagedBy."
  type        = map(string)
  default     = {}
}

variable "aws_endpoint_url" {
  description = "Local-endpoint mode: send every AWS call to this URL (e.g. http://127.0.0.1:5000, the embedded AWS of local mode) with test credentials. Leave null to deploy to AWS."
  type        = string
  default     = null

  validation {
    condition     = var.aws_endpoint_url == null || can(regex("^https?://[^/\\s]+/?$", var.aws_endpoint_url))
    error_message = "aws_endpoint_url must be an http(s) URL without a path, e.g. http://127.0.0.1:5000."
  }
}

# --- storage ------------------------------------------------------------------------------------------

variable "bucket_name" {
  description = "Name of the workflow bucket (working manifests, batches, rounds, outputs). Null: <name_prefix>-<account id>-<region>."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || (can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.bucket_name, "x"))) && !strcontains(coalesce(var.bucket_name, "x"), ".."))
    error_message = "bucket_name must be a valid S3 bucket name: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket and the ECR repository even when they still hold objects or images. Keep false for real data."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the bucket (SSE-KMS), log groups, SNS topic, ECR repository, state machines and Lambda environment. Null: AWS managed encryption (SSE-S3, alias/aws/sns, AWS owned keys). The key policy must let CloudWatch Logs (logs.<region>.amazonaws.com) use it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", coalesce(var.kms_key_arn, "x")))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "manage_bucket_lifecycle" {
  description = "Give the workflow bucket its lifecycle rules (abort incomplete uploads, expire noncurrent versions and intermediate objects). Off where something else owns the bucket's lifecycle configuration (a bucket has one, and two owners overwrite each other), and in local mode, whose emulator never applies the rules while the provider's consistency checks of them take ~55 s of every apply."
  type        = bool
  default     = true
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which superseded object versions (the bucket is versioned) are deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 3650 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days between 1 and 3650."
  }
}

variable "intermediate_expiration_days" {
  description = "Days after which objects tagged intermediate=true (each round's training channels and transform input, rebuilt on retry) expire."
  type        = number
  default     = 7

  validation {
    condition     = var.intermediate_expiration_days >= 1 && var.intermediate_expiration_days <= 3650 && floor(var.intermediate_expiration_days) == var.intermediate_expiration_days
    error_message = "intermediate_expiration_days must be a whole number of days between 1 and 3650."
  }
}

variable "additional_input_bucket_names" {
  description = "Your own buckets the workflow may READ: input manifests, label category configs, source-ref text objects, labeled manifests returned by a labeling tool. Outputs always go to the workflow bucket."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.additional_input_bucket_names : can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", name))])
    error_message = "additional_input_bucket_names must hold bucket names (not ARNs or s3:// URIs)."
  }
}

variable "access_log_bucket_name" {
  description = "Existing bucket that receives S3 server access logs of the workflow bucket (prefix <bucket>/). Null: no access logging."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.access_log_bucket_name, "x")))
    error_message = "access_log_bucket_name must be a bucket name (not an ARN or s3:// URI)."
  }
}

# --- Lambda functions -------------------------------------------------------------------------------

variable "lambda_runtime" {
  description = "Lambda runtime; must be the Python the zips were built for (build/lambda/build-info.json, `make build LAMBDA_PYTHON=...`)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.11", "python3.12", "python3.13"], var.lambda_runtime)
    error_message = "lambda_runtime must be python3.11, python3.12 or python3.13."
  }
}

variable "lambda_architecture" {
  description = "Lambda instruction set; must match the wheels in the zips (build-info.json, `make build LAMBDA_ARCH=...`)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be x86_64 or arm64."
  }
}

variable "lambda_package_dir" {
  description = "Directory holding <function>.zip and build-info.json. Null: build/lambda in the repository (what `make build` writes)."
  type        = string
  default     = null
}

variable "function_overrides" {
  description = "Per-function memory (MB) and timeout (s) overrides, keyed by function directory name, e.g. { select_and_auto_label = { memory_size = 2048 } }. Defaults: 1024 MB / 900 s for the manifest-streaming functions (sized for CPU, see docs/operations.md), 256 MB / 60 s for the others."
  type = map(object({
    memory_size = optional(number)
    timeout     = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for name in keys(var.function_overrides) : contains(keys(local.functions), name)])
    error_message = "function_overrides keys must be function directory names: ${join(", ", sort(keys(local.functions)))}."
  }
  validation {
    condition     = alltrue([for o in values(var.function_overrides) : o.memory_size == null || (try(o.memory_size >= 128 && o.memory_size <= 10240, false))])
    error_message = "memory_size must be between 128 and 10240 MB."
  }
  validation {
    condition     = alltrue([for o in values(var.function_overrides) : o.timeout == null || (try(o.timeout >= 1 && o.timeout <= 900, false))])
    error_message = "timeout must be between 1 and 900 seconds (the Lambda maximum)."
  }
}

variable "lambda_log_level" {
  description = "POWERTOOLS_LOG_LEVEL of every function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.lambda_log_level)
    error_message = "lambda_log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group this stack creates (/aws/lambda/..., /aws/vendedlogs/states/...). One of the values CloudWatch Logs accepts."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

# --- state machines ---------------------------------------------------------------------------------

variable "state_machine_log_level" {
  description = "Execution history level sent to CloudWatch Logs by both state machines: ALL, ERROR or FATAL."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be ALL, ERROR or FATAL."
  }
}

variable "state_machine_include_execution_data" {
  description = "Log state input/output. Off by default: the state carries task tokens (anyone holding one can complete the labeling task) and S3 URIs."
  type        = bool
  default     = false
}

# --- SageMaker: jobs and the model (bring your own model) --------------------------------------------

variable "sagemaker_job_prefix" {
  description = "Prefix of every SageMaker job and model name this deployment creates (<prefix>-<request prefix>-<run>-...); the state machine roles may only touch names starting with it. Lower case, at most 10 characters. Null: the first 10 characters of name_prefix. Give deployments that share an account and region different prefixes."
  type        = string
  default     = null

  validation {
    # Lower case because SageMaker lower-cases the names in its ARNs, which is what IAM matches.
    condition     = var.sagemaker_job_prefix == null || can(regex("^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$", coalesce(var.sagemaker_job_prefix, "x")))
    error_message = "sagemaker_job_prefix must be 1-10 characters of a-z, 0-9 and hyphens, starting and ending with a letter or digit."
  }
}

variable "model_preset" {
  description = "bundled: the project's model (containers/text-classifier) on the region's prebuilt SageMaker scikit-learn image in script mode, its code from the source archive `make build` writes (jsonlines, cross-fit calibration; no Docker). bundled_image: the same model from your own image of containers/text-classifier pushed to the ECR repository this stack creates. blazingtext: the SageMaker built-in BlazingText algorithm (augmented manifest, holdout calibration, top-k extras). custom: your own image, everything from the variables below."
  type        = string
  default     = "bundled"

  validation {
    condition     = contains(["bundled", "bundled_image", "blazingtext", "custom"], var.model_preset)
    error_message = "model_preset must be bundled, bundled_image, blazingtext or custom."
  }
}

variable "source_archive_path" {
  description = "The bundled preset's source archive. Null: build/sagemaker/text-classifier-source.tar.gz in the repository (what `make build` writes)."
  type        = string
  default     = null
}

variable "training_image" {
  description = "Training image URI. Null: the region's scikit-learn framework image (bundled preset), BlazingText for the region (blazingtext preset) or <ECR repository>:<bundled_image_tag> (bundled_image preset). Required with the custom preset."
  type        = string
  default     = null

  validation {
    condition     = var.training_image != null || var.model_preset != "custom"
    error_message = "training_image is required when model_preset is custom."
  }
  validation {
    condition     = var.training_image == null || (length(coalesce(var.training_image, "x")) <= 255 && can(regex("^[^\\s]+$", coalesce(var.training_image, "x"))))
    error_message = "training_image must be an image URI of at most 255 characters without spaces."
  }
}

variable "inference_image" {
  description = "Image the SageMaker model serves the batch transform with. Null: the training image."
  type        = string
  default     = null

  validation {
    condition     = var.inference_image == null || (length(coalesce(var.inference_image, "x")) <= 255 && can(regex("^[^\\s]+$", coalesce(var.inference_image, "x"))))
    error_message = "inference_image must be an image URI of at most 255 characters without spaces."
  }
}

variable "bundled_image_tag" {
  description = "Tag of the bundled container image in the ECR repository (bundled_image preset). The repository's tags are immutable: push a new tag for a new build rather than overwriting one."
  type        = string
  default     = "0.1.0"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$", var.bundled_image_tag))
    error_message = "bundled_image_tag must be a valid image tag (letters, digits, '_', '.', '-'; at most 128 characters)."
  }
}

variable "additional_ecr_repository_arns" {
  description = "ECR repositories (ARNs) in your account that hold custom training/inference images; the SageMaker role may pull from them. The repository created here is always allowed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.additional_ecr_repository_arns : can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$", arn))])
    error_message = "additional_ecr_repository_arns must hold ECR repository ARNs (arn:aws:ecr:<region>:<account>:repository/<name>)."
  }
}

variable "model_channel_format" {
  description = "How training data reaches the container. jsonlines: File mode, train/ and validation/ prefixes of JSON Lines. augmented_manifest: Pipe mode AugmentedManifestFile with RecordIO (BlazingText). Null: the preset's (augmented_manifest for blazingtext, jsonlines otherwise)."
  type        = string
  default     = null

  validation {
    condition     = var.model_channel_format == null || contains(local.model_config_schema.channel_format.enum, coalesce(var.model_channel_format, "jsonlines"))
    error_message = "model_channel_format must be one of: ${join(", ", local.model_config_schema.channel_format.enum)}."
  }
  validation {
    condition     = var.model_preset != "blazingtext" || coalesce(var.model_channel_format, "augmented_manifest") == "augmented_manifest"
    error_message = "The blazingtext preset trains BlazingText from augmented manifests: model_channel_format must be augmented_manifest (or null). Use model_preset = \"custom\" for another format."
  }
}

variable "calibration_mode" {
  description = "holdout: the validation items are never trained on. cross_fit: they are trained on too, each tagged with a fold the container must predict out-of-fold (the bundled container does). Null: the preset's (cross_fit for bundled and bundled_image, holdout otherwise)."
  type        = string
  default     = null

  validation {
    condition     = var.calibration_mode == null || contains(local.model_config_schema.calibration_mode.enum, coalesce(var.calibration_mode, "holdout"))
    error_message = "calibration_mode must be one of: ${join(", ", local.model_config_schema.calibration_mode.enum)}."
  }
  validation {
    # Augmented manifests carry only the attributes listed in AttributeNames: a container could not see the
    # fold of a cross-fit item, so it would predict items it was trained on and the calibration would lie.
    condition = (
      coalesce(var.calibration_mode, contains(["bundled", "bundled_image"], var.model_preset) ? "cross_fit" : "holdout") == "holdout" ||
      coalesce(var.model_channel_format, var.model_preset == "blazingtext" ? "augmented_manifest" : "jsonlines") == "jsonlines"
    )
    error_message = "calibration_mode cross_fit needs model_channel_format jsonlines: with augmented_manifest the container cannot see the fold of a cross-fit item. Use holdout."
  }
}

variable "cross_fit_folds" {
  description = "Number of folds of cross_fit calibration (2-20, schemas/model-config.schema.json's range)."
  type        = number
  default     = 5

  validation {
    condition = (
      var.cross_fit_folds >= local.model_config_schema.cross_fit_folds.minimum &&
      var.cross_fit_folds <= local.model_config_schema.cross_fit_folds.maximum &&
      floor(var.cross_fit_folds) == var.cross_fit_folds
    )
    error_message = "cross_fit_folds must be a whole number between ${local.model_config_schema.cross_fit_folds.minimum} and ${local.model_config_schema.cross_fit_folds.maximum}."
  }
}

variable "training_instance_type" {
  description = "ML instance type of the training jobs."
  type        = string
  default     = "ml.c5.xlarge"

  validation {
    condition     = can(regex("^ml\\.[a-z0-9]+\\.[a-z0-9]+$", var.training_instance_type))
    error_message = "training_instance_type must be an ML instance type such as ml.c5.xlarge."
  }
}

variable "training_instance_count" {
  description = "Instances per training job (BlazingText supervised mode runs on exactly one)."
  type        = number
  default     = 1

  validation {
    condition     = var.training_instance_count >= local.model_config_schema.training_instance_count.minimum && var.training_instance_count <= local.model_config_schema.training_instance_count.maximum && floor(var.training_instance_count) == var.training_instance_count
    error_message = "training_instance_count must be a whole number between ${local.model_config_schema.training_instance_count.minimum} and ${local.model_config_schema.training_instance_count.maximum}."
  }
  validation {
    condition     = var.model_preset != "blazingtext" || var.training_instance_count == 1
    error_message = "BlazingText supervised mode trains on a single instance: training_instance_count must be 1 with the blazingtext preset."
  }
}

variable "training_volume_gb" {
  description = "EBS volume size (GB) of each training instance."
  type        = number
  default     = 30

  validation {
    condition     = var.training_volume_gb >= local.model_config_schema.training_volume_gb.minimum && var.training_volume_gb <= local.model_config_schema.training_volume_gb.maximum && floor(var.training_volume_gb) == var.training_volume_gb
    error_message = "training_volume_gb must be a whole number between ${local.model_config_schema.training_volume_gb.minimum} and ${local.model_config_schema.training_volume_gb.maximum}."
  }
}

variable "training_max_runtime_seconds" {
  description = "StoppingCondition.MaxRuntimeInSeconds of each training job (60 s to 28 days)."
  type        = number
  default     = 7200

  validation {
    condition     = var.training_max_runtime_seconds >= local.model_config_schema.max_runtime_seconds.minimum && var.training_max_runtime_seconds <= local.model_config_schema.max_runtime_seconds.maximum && floor(var.training_max_runtime_seconds) == var.training_max_runtime_seconds
    error_message = "training_max_runtime_seconds must be a whole number between ${local.model_config_schema.max_runtime_seconds.minimum} and ${local.model_config_schema.max_runtime_seconds.maximum} (28 days)."
  }
}

variable "hyperparameters" {
  description = "Training hyperparameters (strings, as SageMaker takes them). Null: the preset's - for blazingtext the AWS sample's supervised settings (see README), {} otherwise. The bundled preset adds its two script-mode settings (sagemaker_program, sagemaker_submit_directory)."
  type        = map(string)
  default     = null

  validation {
    condition     = var.hyperparameters == null || length(coalesce(var.hyperparameters, {})) <= 98
    error_message = "SageMaker accepts at most 100 hyperparameters; the bundled preset adds two of its own, so at most 98 here."
  }
  validation {
    condition     = alltrue([for k, v in coalesce(var.hyperparameters, {}) : length(k) <= 256 && length(v) <= 2500])
    error_message = "Hyperparameter names must be at most 256 and values at most 2500 characters."
  }
}

variable "model_environment" {
  description = "Environment variables of the SageMaker model container (batch transform). The bundled preset adds its script-mode settings (SAGEMAKER_PROGRAM, ...; see README); these win on a shared name."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.model_environment) <= 93 && alltrue([for k, v in var.model_environment : can(regex("^[a-zA-Z_][a-zA-Z0-9_]*$", k)) && length(k) <= 1024 && length(v) <= 1024])
    error_message = "model_environment: at most 93 variables (the bundled preset adds 7 of its own; a SageMaker model takes 100), names [a-zA-Z_][a-zA-Z0-9_]*, values at most 1024 characters."
  }
}

variable "enable_network_isolation" {
  description = "Run training and inference containers without network access (built-in algorithms and the bundled container need none)."
  type        = bool
  default     = true
}

variable "transform_instance_type" {
  description = "ML instance type of the batch transform jobs."
  type        = string
  default     = "ml.c5.xlarge"

  validation {
    condition     = can(regex("^ml\\.[a-z0-9]+\\.[a-z0-9]+$", var.transform_instance_type))
    error_message = "transform_instance_type must be an ML instance type such as ml.c5.xlarge."
  }
}

variable "transform_instance_count" {
  description = "Instances per batch transform job."
  type        = number
  default     = 1

  validation {
    condition     = var.transform_instance_count >= local.model_config_schema.transform_instance_count.minimum && var.transform_instance_count <= local.model_config_schema.transform_instance_count.maximum && floor(var.transform_instance_count) == var.transform_instance_count
    error_message = "transform_instance_count must be a whole number between ${local.model_config_schema.transform_instance_count.minimum} and ${local.model_config_schema.transform_instance_count.maximum}."
  }
}

variable "transform_batch_strategy" {
  description = "Batch transform BatchStrategy: MultiRecord (many lines per request, fast) or SingleRecord."
  type        = string
  default     = "MultiRecord"

  validation {
    condition     = contains(local.model_config_schema.transform_batch_strategy.enum, var.transform_batch_strategy)
    error_message = "transform_batch_strategy must be one of: ${join(", ", local.model_config_schema.transform_batch_strategy.enum)}."
  }
}

variable "transform_max_payload_mb" {
  description = "Batch transform MaxPayloadInMB (0-100; 0 = streaming, for containers that support it)."
  type        = number
  default     = 6

  validation {
    condition     = var.transform_max_payload_mb >= local.model_config_schema.transform_max_payload_mb.minimum && var.transform_max_payload_mb <= local.model_config_schema.transform_max_payload_mb.maximum && floor(var.transform_max_payload_mb) == var.transform_max_payload_mb
    error_message = "transform_max_payload_mb must be a whole number between ${local.model_config_schema.transform_max_payload_mb.minimum} and ${local.model_config_schema.transform_max_payload_mb.maximum}."
  }
}

variable "transform_record_extras" {
  description = "JSON object merged into every transform input line, values keep their JSON types (e.g. { k = 1000000 } makes BlazingText return every class's probability). Null: the preset's ({ k = 1000000 } for blazingtext, {} otherwise)."
  type        = any
  default     = null

  validation {
    condition     = var.transform_record_extras == null || can(keys(var.transform_record_extras))
    error_message = "transform_record_extras must be an object, e.g. { k = 1000000 }."
  }
  validation {
    condition     = var.transform_record_extras == null || length(setintersection(try(keys(var.transform_record_extras), []), ["source", "al:record-id", "al:fold"])) == 0
    error_message = "transform_record_extras must not set source, al:record-id or al:fold (the workflow writes those)."
  }
}

variable "volume_kms_key_id" {
  description = "KMS key ARN for the ML storage volumes of training and transform instances (the SageMaker role gets grant/use permissions on exactly this key). Null: SageMaker's default."
  type        = string
  default     = null

  validation {
    condition     = var.volume_kms_key_id == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", coalesce(var.volume_kms_key_id, "x")))
    error_message = "volume_kms_key_id must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), so that IAM can name exactly that key."
  }
}

# --- workflow defaults (WORKFLOW_DEFAULTS of ValidateInput; an execution's request overrides them) -----

variable "labeling_backend" {
  description = "Who labels human batches by default: callback (any tool, through the SNS topic and a task token) or ground_truth (SageMaker Ground Truth; the request must carry HumanTaskConfig)."
  type        = string
  default     = "callback"

  validation {
    condition     = contains(local.request_schema["$defs"].labelingBackend.enum, var.labeling_backend)
    error_message = "labeling_backend must be one of: ${join(", ", local.request_schema["$defs"].labelingBackend.enum)}."
  }
}

variable "target_accuracy" {
  description = "Accuracy the auto-labels must reach, as a one-sided lower confidence bound (0.5 < x <= 0.9999)."
  type        = number
  default     = 0.95

  validation {
    condition     = var.target_accuracy > local.request_settings.TargetAccuracy.exclusiveMinimum && var.target_accuracy <= local.request_settings.TargetAccuracy.maximum
    error_message = "target_accuracy must be greater than ${local.request_settings.TargetAccuracy.exclusiveMinimum} and at most ${local.request_settings.TargetAccuracy.maximum}."
  }
}

variable "confidence_level" {
  description = "Confidence of that lower bound, 1 - delta (0.5 <= x <= 0.9999)."
  type        = number
  default     = 0.95

  validation {
    condition     = var.confidence_level >= local.request_settings.ConfidenceLevel.minimum && var.confidence_level <= local.request_settings.ConfidenceLevel.maximum
    error_message = "confidence_level must be at least ${local.request_settings.ConfidenceLevel.minimum} and at most ${local.request_settings.ConfidenceLevel.maximum}."
  }
}

variable "bootstrap_fraction" {
  description = "Largest share of all items labeled by humans (random picks) before the first model is trained (0 < x <= 1); the bootstrap stops sooner, at what the threshold search can use (1,370 labels at a 95% target and confidence)."
  type        = number
  default     = 0.2

  validation {
    condition     = var.bootstrap_fraction > local.request_settings.BootstrapFraction.exclusiveMinimum && var.bootstrap_fraction <= local.request_settings.BootstrapFraction.maximum
    error_message = "bootstrap_fraction must be greater than ${local.request_settings.BootstrapFraction.exclusiveMinimum} and at most ${local.request_settings.BootstrapFraction.maximum}."
  }
}

variable "validation_fraction" {
  description = "Share of all items held out from the human labels to calibrate the auto-label threshold (0 < x <= 0.5), capped at half the human labels."
  type        = number
  default     = 0.1

  validation {
    condition     = var.validation_fraction > local.request_settings.ValidationFraction.exclusiveMinimum && var.validation_fraction <= local.request_settings.ValidationFraction.maximum
    error_message = "validation_fraction must be greater than ${local.request_settings.ValidationFraction.exclusiveMinimum} and at most ${local.request_settings.ValidationFraction.maximum}."
  }
}

variable "human_batch_size" {
  description = "Items sent to humans after each round (1 <= x <= 100000)."
  type        = number
  default     = 500

  validation {
    condition     = var.human_batch_size >= local.request_settings.HumanBatchSize.minimum && var.human_batch_size <= local.request_settings.HumanBatchSize.maximum && floor(var.human_batch_size) == var.human_batch_size
    error_message = "human_batch_size must be a whole number at least ${local.request_settings.HumanBatchSize.minimum} and at most ${local.request_settings.HumanBatchSize.maximum}."
  }
}

variable "query_strategy" {
  description = "How each round picks the items humans label next: margin, least_confidence, entropy, random or diverse_margin."
  type        = string
  default     = "margin"

  validation {
    condition     = contains(local.request_settings.QueryStrategy.enum, var.query_strategy)
    error_message = "query_strategy must be one of: ${join(", ", local.request_settings.QueryStrategy.enum)}."
  }
}

variable "auto_label_method" {
  description = "calibrated: threshold chosen on held-out human labels to meet target_accuracy at confidence_level. margin_threshold: the AWS sample's fixed margin rule (for comparison)."
  type        = string
  default     = "calibrated"

  validation {
    condition     = contains(local.request_settings.AutoLabelMethod.enum, var.auto_label_method)
    error_message = "auto_label_method must be one of: ${join(", ", local.request_settings.AutoLabelMethod.enum)}."
  }
}

variable "margin_threshold" {
  description = "Top-two probability margin above which margin_threshold auto-labels (0 <= x <= 1)."
  type        = number
  default     = 0.5

  validation {
    condition     = var.margin_threshold >= local.request_settings.MarginThreshold.minimum && var.margin_threshold <= local.request_settings.MarginThreshold.maximum
    error_message = "margin_threshold must be at least ${local.request_settings.MarginThreshold.minimum} and at most ${local.request_settings.MarginThreshold.maximum}."
  }
}

variable "max_class_miss_rate" {
  description = "Largest share of any one class's items (by the labels people give) that may be auto-labeled as another class, certified with target_accuracy (0 < x <= 1). 1 = no per-class limit; 0.1 keeps a rare class from being absorbed by a common one, at the price of 36 or more random calibration labels of every class (about 40 / its share in all)."
  type        = number
  default     = 1

  validation {
    condition     = var.max_class_miss_rate > local.request_settings.MaxClassMissRate.exclusiveMinimum && var.max_class_miss_rate <= local.request_settings.MaxClassMissRate.maximum
    error_message = "max_class_miss_rate must be greater than ${local.request_settings.MaxClassMissRate.exclusiveMinimum} and at most ${local.request_settings.MaxClassMissRate.maximum}."
  }
}

variable "max_rounds" {
  description = "Stop after this many active-learning rounds (1 <= x <= 1000); items still unlabeled are exported as such."
  type        = number
  default     = 20

  validation {
    condition     = var.max_rounds >= local.request_settings.MaxRounds.minimum && var.max_rounds <= local.request_settings.MaxRounds.maximum && floor(var.max_rounds) == var.max_rounds
    error_message = "max_rounds must be a whole number at least ${local.request_settings.MaxRounds.minimum} and at most ${local.request_settings.MaxRounds.maximum}."
  }
}

variable "max_human_labels" {
  description = "Stop asking humans once this many items carry human labels, bootstrap included (x >= 0); 0 = no limit."
  type        = number
  default     = 0

  validation {
    condition     = var.max_human_labels >= local.request_settings.MaxHumanLabels.minimum && floor(var.max_human_labels) == var.max_human_labels
    error_message = "max_human_labels must be a whole number at least ${local.request_settings.MaxHumanLabels.minimum}."
  }
}

variable "seed" {
  description = "Seed of every random choice: bootstrap batch, validation set, random query strategy (0 <= x <= 2147483647)."
  type        = number
  default     = 0

  validation {
    condition     = var.seed >= local.request_settings.Seed.minimum && var.seed <= local.request_settings.Seed.maximum && floor(var.seed) == var.seed
    error_message = "seed must be a whole number at least ${local.request_settings.Seed.minimum} and at most ${local.request_settings.Seed.maximum}."
  }
}

variable "human_cost_per_label" {
  description = "USD per human label, for the report's cost line (x >= 0); the default is 3 workers x $0.012, the AWS sample's public-workforce price."
  type        = number
  default     = 0.036

  validation {
    condition     = var.human_cost_per_label >= local.request_settings.HumanCostPerLabel.minimum
    error_message = "human_cost_per_label must be at least ${local.request_settings.HumanCostPerLabel.minimum}."
  }
}

variable "labeling_timeout_seconds" {
  description = "How long one human batch may take (TimeoutSeconds of the labeling task), in seconds: one minute to a year (60 <= x <= 31536000)."
  type        = number
  default     = 604800

  validation {
    condition     = var.labeling_timeout_seconds >= local.workflow_settings.LabelingTimeoutSeconds.minimum && var.labeling_timeout_seconds <= local.workflow_settings.LabelingTimeoutSeconds.maximum && floor(var.labeling_timeout_seconds) == var.labeling_timeout_seconds
    error_message = "labeling_timeout_seconds must be a whole number at least ${local.workflow_settings.LabelingTimeoutSeconds.minimum} and at most ${local.workflow_settings.LabelingTimeoutSeconds.maximum}."
  }
}

variable "ground_truth_workteam_types" {
  description = "Work team types the Ground Truth backend may send items to (IAM condition sagemaker:WorkteamType on CreateLabelingJob): private-crowd, vendor-crowd, public-crowd (Mechanical Turk)."
  type        = list(string)
  default     = ["private-crowd", "vendor-crowd"]

  validation {
    condition     = length(var.ground_truth_workteam_types) > 0 && alltrue([for t in var.ground_truth_workteam_types : contains(["private-crowd", "vendor-crowd", "public-crowd"], t)])
    error_message = "ground_truth_workteam_types: one or more of private-crowd, vendor-crowd, public-crowd."
  }
}

variable "notification_emails" {
  description = "E-mail addresses subscribed to the run-events topic (each must confirm the subscription AWS mails it). Empty: subscribe whatever you like to the run_events_topic_arn output."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for email in var.notification_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))])
    error_message = "notification_emails must be e-mail addresses."
  }
}

variable "monitoring" {
  description = "A CloudWatch dashboard (runs, labels, waits, function errors and durations), alarms on failed runs, function errors and people keeping a batch waiting, and the 15-minute check that measures the wait. Alarms message the run-events topic."
  type        = bool
  default     = true
}

variable "human_batch_wait_alarm_hours" {
  description = "The human_batch_waiting alarm fires when a running run has waited for people longer than this."
  type        = number
  default     = 24

  validation {
    condition     = var.human_batch_wait_alarm_hours > 0
    error_message = "human_batch_wait_alarm_hours must be positive."
  }
}

