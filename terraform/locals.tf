locals {
  local_mode = var.aws_endpoint_url != null

  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = var.region

  tags = merge({ Project = "active-labeling-workflow", ManagedBy = "terraform" }, var.tags)

  bucket_name = coalesce(var.bucket_name, "${var.name_prefix}-${local.account_id}-${var.region}")

  # Every SageMaker job/model name starts with "<job_prefix>-" (ValidateInput gets it as JOB_NAME_PREFIX).
  job_prefix = coalesce(var.sagemaker_job_prefix, replace(substr(var.name_prefix, 0, 10), "/-+$/", ""))

  state_machine_names = {
    loop  = "${var.name_prefix}-active-learning-loop"
    round = "${var.name_prefix}-active-learning-round"
  }
  loop_state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.state_machine_names.loop}"

  # --- Lambda functions ------------------------------------------------------------------------------
  #
  # One entry per directory under functions/ (= Python package = zip = IAM role). Each entry says what
  # the function's code does with AWS, read from its handler and labeling_common:
  #   bucket_actions: reads of the workflow bucket, bucket-wide (inputs may live anywhere in it): GetObject
  #     streams; s3:ListBucket wherever a missing key is expected (HeadObject existence tests, the checkpoint
  #     and lock reads), so that S3 answers 404 rather than 403.
  #   writes: the objects the function writes, as key patterns under a run's S3OutputPath (granted at the
  #     bucket root and under any prefix). Writers (s3io.JsonLinesWriter) switch to multipart uploads, whose
  #     parts are covered by s3:PutObject and whose failure path needs s3:AbortMultipartUpload.
  #   tags_objects: PutObject with a Tagging header needs s3:PutObjectTagging (intermediate=true on training
  #     channels and transform input).
  #   deletes: key patterns the function deletes (the run lock, released by its holder).
  #   input_actions: read access to var.additional_input_bucket_names (users' manifests, label configs,
  #     source-ref texts, labeled manifests returned by a labeling tool).
  #   grants: extra statements by name (see local.function_grants).
  #   size: "streaming" functions stream whole manifests (bounded memory, long runs), "light" ones do not.
  functions = {
    validate_input = {
      description    = "Validate the execution request and fill the deployment's defaults; writes nothing."
      size           = "light"
      bucket_actions = ["s3:GetObject", "s3:ListBucket"] # HeadObject + GetObject of manifest and label config
      writes         = []
      tags_objects   = false
      deletes        = []
      input_actions  = ["s3:GetObject", "s3:ListBucket"]
      grants         = []
    }
    bootstrap_manifest = {
      description    = "Copy the input manifest to working manifest version 0 with record ids and counts, or resume from the checkpoint."
      size           = "streaming"
      bucket_actions = ["s3:GetObject", "s3:ListBucket"]
      writes         = ["working/lock.json", "working/checkpoint.json", "working/manifest-*"]
      tags_objects   = false
      deletes        = []
      input_actions  = ["s3:GetObject"]
      grants         = ["describe_loop_executions"] # the run lock: is its holder still running?
    }
    prepare_human_batch = {
      description    = "Write the batch manifest humans label next (random bootstrap sample or the last round's selection)."
      size           = "streaming"
      bucket_actions = ["s3:GetObject", "s3:ListBucket"] # ListBucket: were the batch's answers already delivered?
      writes         = ["batches/*/input.manifest"]
      tags_objects   = false
      deletes        = []
      input_actions  = ["s3:GetObject"] # source-ref texts: every item is read before people are asked
      grants         = []
    }
    request_callback_labels = {
      description    = "Publish a labeling task (task.json + SNS message) and leave the task token with the labeling tool."
      size           = "light"
      bucket_actions = ["s3:GetObject"]        # label config
      writes         = ["batches/*/task.json"] # one small object (no multipart)
      tags_objects   = false
      deletes        = []
      input_actions  = ["s3:GetObject"]
      grants         = ["publish_labeling_tasks"]
    }
    merge_labels = {
      description    = "Validate human or auto labels and merge them into the next working manifest version."
      size           = "streaming"
      bucket_actions = ["s3:GetObject", "s3:ListBucket"]
      writes         = ["working/checkpoint.json", "working/manifest-*"]
      tags_objects   = false
      deletes        = []
      input_actions  = ["s3:GetObject", "s3:ListBucket"] # a labeling tool may return its manifest from your bucket
      grants         = []
    }
    create_validation_set = {
      description    = "Hold out a random, class-stratified sample of the human labels to calibrate the threshold."
      size           = "streaming"
      bucket_actions = ["s3:GetObject", "s3:ListBucket"]
      writes         = ["working/checkpoint.json", "working/validation-*"]
      tags_objects   = false
      deletes        = []
      input_actions  = []
      grants         = []
    }
    prepare_training = {
      description    = "Write the round's training channels and build the CreateTrainingJob request from MODEL_CONFIG."
      size           = "streaming"
      bucket_actions = ["s3:GetObject"]
      writes         = ["rounds/*"]
      tags_objects   = true
      deletes        = []
      input_actions  = ["s3:GetObject"] # source-ref texts
      grants         = []
    }
    prepare_inference = {
      description    = "Write the transform input (unlabeled pool + validation items) and build the CreateTransformJob request."
      size           = "streaming"
      bucket_actions = ["s3:GetObject"]
      writes         = ["rounds/*"]
      tags_objects   = true
      deletes        = []
      input_actions  = ["s3:GetObject"] # source-ref texts
      grants         = []
    }
    select_and_auto_label = {
      description    = "Calibrate the threshold on the validation predictions, auto-label the pool, choose the next human batch."
      size           = "streaming"
      bucket_actions = ["s3:GetObject", "s3:ListBucket"] # lists the transform output
      writes         = ["rounds/*"]
      tags_objects   = false
      deletes        = []
      input_actions  = ["s3:GetObject"] # label config
      grants         = []
    }
    export_final = {
      description    = "Write final_output.manifest, report.json and report.html; release the run lock."
      size           = "streaming"
      bucket_actions = ["s3:GetObject", "s3:ListBucket"]
      writes         = ["final_output.manifest", "report.json", "report.html"]
      tags_objects   = false
      deletes        = ["working/lock.json"]
      input_actions  = []
      grants         = []
    }
    record_failure = {
      description    = "Write the failure record under the output path; release the run lock."
      size           = "light"
      bucket_actions = ["s3:GetObject", "s3:ListBucket"]
      writes         = ["failures/*"]
      tags_objects   = false
      deletes        = ["working/lock.json"]
      input_actions  = []
      grants         = []
    }
    notify_run_events = {
      description    = "Turn a loop execution's end, a human batch waiting and an alarm into a short message on the run-events topic; measure how long runs wait for people."
      size           = "light"
      bucket_actions = ["s3:GetObject", "s3:ListBucket"] # the running runs' checkpoints (how long they wait)
      writes         = []
      tags_objects   = false
      deletes        = []
      input_actions  = []
      grants         = ["publish_run_events", "read_loop_history", "list_loop_executions", "describe_loop_executions"]
    }
  }

  # Sized from `make bench-scale` (docs/operations.md "Scale"): at 1,000,000 lines every function's process peaks below
  # 90 MB, flat from 100,000 lines (ratio 1.05), but SelectAndAutoLabel, which grows with the human batch it chooses
  # (104 MB at a batch of 100,000, the largest), so memory never decides the size. CPU does: Lambda gives CPU
  # in proportion to memory (one vCPU at 1,769 MB), and the slowest step (SelectAndAutoLabel, 131 s of one
  # core at 1M lines) would need ~900 s at 256 MB. At 1,024 MB it needs ~225 s, for the same GB-seconds.
  function_sizes = {
    streaming = { memory_size = 1024, timeout = 900 }
    light     = { memory_size = 256, timeout = 60 }
  }

  lambda_package_dir = coalesce(var.lambda_package_dir, "${path.module}/../build/lambda")
  build_info_path    = "${local.lambda_package_dir}/build-info.json"
  build_info         = fileexists(local.build_info_path) ? jsondecode(file(local.build_info_path)) : null

  function_settings = {
    for key, fn in local.functions : key => {
      name        = "${var.name_prefix}-${replace(key, "_", "-")}"
      handler     = "${key}.handler.lambda_handler"
      zip_path    = "${local.lambda_package_dir}/${key}.zip"
      memory_size = coalesce(try(var.function_overrides[key].memory_size, null), local.function_sizes[fn.size].memory_size)
      timeout     = coalesce(try(var.function_overrides[key].timeout, null), local.function_sizes[fn.size].timeout)
    }
  }

  # Which functions each state machine invokes (the placeholders of its ASL file).
  # Which functions each state machine invokes is read from its ASL template (its ${<key>_function_arn}
  # placeholders), so adding a Lambda to a workflow is one state in the ASL: the IAM follows.
  asl_templates = {
    loop  = "${path.module}/../asl/active_learning_loop.asl.json"
    round = "${path.module}/../asl/active_learning_round.asl.json"
  }
  state_machine_functions = {
    for machine, template in local.asl_templates : machine => distinct([
      for match in regexall("\\$\\{([a-z0-9_]+)_function_arn\\}", file(template)) : match[0]
    ])
  }

  # --- environment -------------------------------------------------------------------------------------

  # ValidateInput's deploy-time defaults: exactly the keys of BUILTIN_DEFAULTS in
  # functions/validate_input/logic.py (the request's ActiveLearningConfig vocabulary).
  # The request schema is the one source of every execution-input setting: the ranges and enums the
  # variables validate against (variables.tf) read it, and terraform/tests + tests/terraform check the
  # defaults against it.
  request_schema    = jsondecode(file("${path.module}/../schemas/labeling-job-request.schema.json"))
  request_settings  = local.request_schema["$defs"].activeLearningSettings.properties
  workflow_settings = local.request_schema["$defs"].workflowDefaults.properties

  workflow_defaults = {
    LabelingBackend        = var.labeling_backend
    TargetAccuracy         = var.target_accuracy
    ConfidenceLevel        = var.confidence_level
    BootstrapFraction      = var.bootstrap_fraction
    ValidationFraction     = var.validation_fraction
    HumanBatchSize         = var.human_batch_size
    QueryStrategy          = var.query_strategy
    AutoLabelMethod        = var.auto_label_method
    MarginThreshold        = var.margin_threshold
    MaxClassMissRate       = var.max_class_miss_rate
    MaxRounds              = var.max_rounds
    MaxHumanLabels         = var.max_human_labels
    Seed                   = var.seed
    HumanCostPerLabel      = var.human_cost_per_label
    LabelingTimeoutSeconds = var.labeling_timeout_seconds
  }

  # Per-function settings on top of the Powertools ones every function gets.
  function_extra_environment = {
    validate_input = {
      SAGEMAKER_ROLE_ARN = aws_iam_role.sagemaker.arn
      WORKFLOW_DEFAULTS  = jsonencode(local.workflow_defaults)
      JOB_NAME_PREFIX    = local.job_prefix
    }
    request_callback_labels = { LABELING_TOPIC_ARN = aws_sns_topic.main.arn }
    notify_run_events = {
      RUN_EVENTS_TOPIC_ARN = aws_sns_topic.run_events.arn
      # Built from the name: the loop's own ARN would make every function depend on the loop (a cycle).
      LOOP_STATE_MACHINE_ARN = local.loop_state_machine_arn
    }
    create_validation_set = { MODEL_CONFIG = jsonencode(local.model_config) }
    prepare_training      = { MODEL_CONFIG = jsonencode(local.model_config) }
    prepare_inference     = { MODEL_CONFIG = jsonencode(local.model_config) }
  }

  function_environment = {
    for key in keys(local.functions) : key => merge(
      {
        POWERTOOLS_SERVICE_NAME      = key
        POWERTOOLS_METRICS_NAMESPACE = var.name_prefix
        POWERTOOLS_LOG_LEVEL         = var.lambda_log_level
      },
      try(local.function_extra_environment[key], {}),
    )
  }

  # --- model: MODEL_CONFIG of CreateValidationSet (calibration mode), PrepareTraining, PrepareInference ---
  # (schemas/model-config.schema.json)
  # The schema is also the one source of the ranges and choices the model variables validate against.
  model_config_schema = jsondecode(file("${path.module}/../schemas/model-config.schema.json")).properties

  # BlazingText supervised settings of the AWS sample. min_count = 5 drops words seen fewer than five
  # times, which costs accuracy while few items are labeled; it is kept for comparability (override
  # with var.hyperparameters).
  blazingtext_hyperparameters = {
    mode           = "supervised"
    epochs         = "20"
    early_stopping = "True"
    patience       = "5"
    min_epochs     = "1"
    learning_rate  = "0.05"
    min_count      = "5"
    vector_dim     = "20"
    word_ngrams    = "2"
  }

  # What each preset fills in when the matching variable is null. Record extras are carried as JSON text so
  # the presets (objects of different shapes) fit one type; they are decoded into MODEL_CONFIG below.
  #
  # toolkit_hyperparameters and model_environment are the framework image's script-mode settings: always
  # merged in (var.hyperparameters and var.model_environment add to them, and win on a shared key).
  model_presets = {
    blazingtext = {
      channel_format          = "augmented_manifest"
      calibration_mode        = "holdout"
      hyperparameters         = local.blazingtext_hyperparameters
      toolkit_hyperparameters = {}
      model_environment       = {}
      record_extras_json      = jsonencode({ k = 1000000 }) # top-k: BlazingText then returns every class
      training_image          = one(data.aws_sagemaker_prebuilt_ecr_image.blazingtext[*].registry_path)
    }
    bundled = {
      channel_format   = "jsonlines"
      calibration_mode = "cross_fit"
      hyperparameters  = {}
      # The training toolkit runs train.py from the archive, which arrives as the `code` channel (the
      # toolkit cannot download it itself with network isolation); train.py copies the code into the model.
      toolkit_hyperparameters = {
        sagemaker_program          = "train.py"
        sagemaker_submit_directory = "/opt/ml/input/data/code/sourcedir.tar.gz"
      }
      # The model server copies the model's code/ folder to /opt/ml/code, pip-installs it (offline: the build
      # backend comes from the archive's wheels/) and imports inference.py. One worker: onnxruntime already
      # uses every core. A 6 MB MultiRecord batch takes ~2 min on 2 vCPUs: the server's 60 s default is short.
      model_environment = {
        SAGEMAKER_PROGRAM                    = "inference.py"
        SAGEMAKER_SUBMIT_DIRECTORY           = "/opt/ml/model/code"
        SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT = "application/jsonlines"
        SAGEMAKER_MODEL_SERVER_WORKERS       = "1"
        SAGEMAKER_MODEL_SERVER_TIMEOUT       = "3600"
        PIP_NO_INDEX                         = "1"
        PIP_FIND_LINKS                       = "/opt/ml/code/wheels"
      }
      record_extras_json = "{}"
      training_image     = one(data.aws_sagemaker_prebuilt_ecr_image.scikit_learn[*].registry_path)
    }
    bundled_image = {
      channel_format          = "jsonlines"
      calibration_mode        = "cross_fit"
      hyperparameters         = {}
      toolkit_hyperparameters = {}
      model_environment       = {}
      record_extras_json      = "{}"
      training_image          = "${aws_ecr_repository.main.repository_url}:${var.bundled_image_tag}"
    }
    custom = {
      channel_format          = "jsonlines"
      calibration_mode        = "holdout"
      hyperparameters         = {}
      toolkit_hyperparameters = {}
      model_environment       = {}
      record_extras_json      = "{}"
      training_image          = null
    }
  }
  model_preset = local.model_presets[var.model_preset]

  # The framework image the bundled preset runs on: its Python and library versions are those local mode
  # runs the model with (containers/text-classifier/sagemaker/image-libraries.txt).
  scikit_learn_image_tag = "1.4-2-py312-cpu-py3"
  source_archive_path    = coalesce(var.source_archive_path, "${path.module}/../build/sagemaker/text-classifier-source.tar.gz")
  source_archive_uri     = var.model_preset == "bundled" ? "s3://${module.storage.bucket_name}/${one(aws_s3_object.source_archive[*].key)}" : null

  training_image = coalesce(var.training_image, local.model_preset.training_image)

  model_config = {
    training_image           = local.training_image
    inference_image          = coalesce(var.inference_image, local.training_image)
    channel_format           = coalesce(var.model_channel_format, local.model_preset.channel_format)
    calibration_mode         = coalesce(var.calibration_mode, local.model_preset.calibration_mode)
    cross_fit_folds          = var.cross_fit_folds
    training_instance_type   = var.training_instance_type
    training_instance_count  = var.training_instance_count
    training_volume_gb       = var.training_volume_gb
    max_runtime_seconds      = var.training_max_runtime_seconds
    hyperparameters          = tomap(merge(local.model_preset.toolkit_hyperparameters, var.hyperparameters != null ? var.hyperparameters : local.model_preset.hyperparameters))
    model_environment        = tomap(merge(local.model_preset.model_environment, var.model_environment))
    enable_network_isolation = var.enable_network_isolation
    transform_instance_type  = var.transform_instance_type
    transform_instance_count = var.transform_instance_count
    transform_batch_strategy = var.transform_batch_strategy
    transform_max_payload_mb = var.transform_max_payload_mb
    transform_record_extras  = jsondecode(var.transform_record_extras != null ? jsonencode(var.transform_record_extras) : local.model_preset.record_extras_json)
    sagemaker_role_arn       = aws_iam_role.sagemaker.arn
    volume_kms_key_id        = var.volume_kms_key_id
    source_archive           = local.source_archive_uri
  }

  # --- ASL placeholders ----------------------------------------------------------------------------------

  function_arn_placeholders = { for key, fn in module.lambda : "${key}_function_arn" => fn.arn }
}
