# Every input validation fires on a bad value (expect_failures). Validations run before anything is
# planned, so these runs are fast. Cross-variable rules (Terraform >= 1.9) are covered too.

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  region = "us-east-1"
}

run "region_upper_case" {
  command = plan

  variables {
    region = "US-EAST-1"
  }

  expect_failures = [var.region]
}

run "region_not_a_region" {
  command = plan

  variables {
    region = "useast1"
  }

  expect_failures = [var.region]
}

run "name_prefix_upper_case" {
  command = plan

  variables {
    name_prefix = "Labeling"
  }

  expect_failures = [var.name_prefix]
}

run "name_prefix_too_short" {
  command = plan

  variables {
    name_prefix = "al"
  }

  expect_failures = [var.name_prefix]
}

run "name_prefix_too_long" {
  command = plan

  variables {
    name_prefix = "active-labeling-workflow-x"
  }

  expect_failures = [var.name_prefix]
}

run "name_prefix_double_hyphen" {
  command = plan

  variables {
    name_prefix = "active--labeling"
  }

  expect_failures = [var.name_prefix]
}

run "name_prefix_trailing_hyphen" {
  command = plan

  variables {
    name_prefix = "labeling-"
  }

  expect_failures = [var.name_prefix]
}

run "name_prefix_reserved_s3_prefix" {
  command = plan

  variables {
    name_prefix = "sthree-labeling"
  }

  expect_failures = [var.name_prefix]
}

run "endpoint_without_scheme" {
  command = plan

  variables {
    aws_endpoint_url = "127.0.0.1:5000"
  }

  expect_failures = [var.aws_endpoint_url]
}

run "endpoint_with_path" {
  command = plan

  variables {
    aws_endpoint_url = "http://127.0.0.1:5000/s3"
  }

  expect_failures = [var.aws_endpoint_url]
}

run "bucket_name_invalid" {
  command = plan

  variables {
    bucket_name = "My_Bucket"
  }

  expect_failures = [var.bucket_name]
}

run "kms_key_alias_not_arn" {
  command = plan

  variables {
    kms_key_arn = "alias/my-key"
  }

  expect_failures = [var.kms_key_arn]
}

run "noncurrent_expiration_zero" {
  command = plan

  variables {
    noncurrent_version_expiration_days = 0
  }

  expect_failures = [var.noncurrent_version_expiration_days]
}

run "intermediate_expiration_fraction" {
  command = plan

  variables {
    intermediate_expiration_days = 1.5
  }

  expect_failures = [var.intermediate_expiration_days]
}

run "input_bucket_as_uri" {
  command = plan

  variables {
    additional_input_bucket_names = ["s3://my-datasets"]
  }

  expect_failures = [var.additional_input_bucket_names]
}

run "access_log_bucket_as_arn" {
  command = plan

  variables {
    access_log_bucket_name = "arn:aws:s3:::central-logs"
  }

  expect_failures = [var.access_log_bucket_name]
}

run "lambda_runtime_unsupported" {
  command = plan

  variables {
    lambda_runtime = "python3.9"
  }

  expect_failures = [var.lambda_runtime]
}

run "lambda_architecture_unknown" {
  command = plan

  variables {
    lambda_architecture = "amd64"
  }

  expect_failures = [var.lambda_architecture]
}

run "function_override_unknown_function" {
  command = plan

  variables {
    function_overrides = { merge = { memory_size = 1024 } }
  }

  expect_failures = [var.function_overrides]
}

run "function_override_memory_too_small" {
  command = plan

  variables {
    function_overrides = { merge_labels = { memory_size = 64 } }
  }

  expect_failures = [var.function_overrides]
}

run "function_override_timeout_too_long" {
  command = plan

  variables {
    function_overrides = { merge_labels = { timeout = 901 } }
  }

  expect_failures = [var.function_overrides]
}

run "lambda_log_level_unknown" {
  command = plan

  variables {
    lambda_log_level = "TRACE"
  }

  expect_failures = [var.lambda_log_level]
}

run "log_retention_not_allowed" {
  command = plan

  variables {
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}

run "state_machine_log_level_unknown" {
  command = plan

  variables {
    state_machine_log_level = "OFF"
  }

  expect_failures = [var.state_machine_log_level]
}

run "job_prefix_upper_case" {
  command = plan

  variables {
    sagemaker_job_prefix = "Teama"
  }

  expect_failures = [var.sagemaker_job_prefix]
}

run "job_prefix_too_long" {
  command = plan

  variables {
    sagemaker_job_prefix = "labelingteam"
  }

  expect_failures = [var.sagemaker_job_prefix]
}

run "job_prefix_trailing_hyphen" {
  command = plan

  variables {
    sagemaker_job_prefix = "team-"
  }

  expect_failures = [var.sagemaker_job_prefix]
}

run "model_preset_unknown" {
  command = plan

  variables {
    model_preset = "sklearn"
  }

  expect_failures = [var.model_preset]
}

run "custom_preset_without_image" {
  command = plan

  variables {
    model_preset = "custom"
  }

  expect_failures = [var.training_image]
}

run "training_image_with_space" {
  command = plan

  variables {
    training_image = "my image:1"
  }

  expect_failures = [var.training_image]
}

run "inference_image_too_long" {
  command = plan

  variables {
    inference_image = join("", [for i in range(26) : "0123456789"])
  }

  expect_failures = [var.inference_image]
}

run "bundled_image_tag_invalid" {
  command = plan

  variables {
    bundled_image_tag = ":latest"
  }

  expect_failures = [var.bundled_image_tag]
}

run "ecr_repository_not_arn" {
  command = plan

  variables {
    additional_ecr_repository_arns = ["my-repo"]
  }

  expect_failures = [var.additional_ecr_repository_arns]
}

run "channel_format_unknown" {
  command = plan

  variables {
    model_preset         = "custom"
    training_image       = "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"
    model_channel_format = "csv"
  }

  expect_failures = [var.model_channel_format]
}

run "blazingtext_with_jsonlines" {
  command = plan

  variables {
    model_preset         = "blazingtext"
    model_channel_format = "jsonlines"
  }

  expect_failures = [var.model_channel_format]
}

run "calibration_mode_unknown" {
  command = plan

  variables {
    calibration_mode = "kfold"
  }

  expect_failures = [var.calibration_mode]
}

run "cross_fit_with_blazingtext" {
  command = plan

  variables {
    model_preset     = "blazingtext"
    calibration_mode = "cross_fit"
  }

  expect_failures = [var.calibration_mode]
}

run "cross_fit_with_augmented_manifest" {
  command = plan

  variables {
    model_preset         = "custom"
    training_image       = "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"
    model_channel_format = "augmented_manifest"
    calibration_mode     = "cross_fit"
  }

  expect_failures = [var.calibration_mode]
}

run "bundled_with_augmented_manifest" {
  command = plan

  variables {
    model_preset         = "bundled"
    model_channel_format = "augmented_manifest"
  }

  expect_failures = [var.calibration_mode]
}

run "cross_fit_folds_one" {
  command = plan

  variables {
    cross_fit_folds = 1
  }

  expect_failures = [var.cross_fit_folds]
}

run "training_instance_type_without_ml" {
  command = plan

  variables {
    training_instance_type = "c5.xlarge"
  }

  expect_failures = [var.training_instance_type]
}

run "transform_instance_type_incomplete" {
  command = plan

  variables {
    transform_instance_type = "ml.c5"
  }

  expect_failures = [var.transform_instance_type]
}

run "training_instance_count_zero" {
  command = plan

  variables {
    model_preset            = "bundled"
    training_instance_count = 0
  }

  expect_failures = [var.training_instance_count]
}

run "blazingtext_on_two_instances" {
  command = plan

  variables {
    model_preset            = "blazingtext"
    training_instance_count = 2
  }

  expect_failures = [var.training_instance_count]
}

run "training_volume_zero" {
  command = plan

  variables {
    training_volume_gb = 0
  }

  expect_failures = [var.training_volume_gb]
}

run "training_runtime_too_short" {
  command = plan

  variables {
    training_max_runtime_seconds = 30
  }

  expect_failures = [var.training_max_runtime_seconds]
}

run "too_many_hyperparameters" {
  command = plan

  variables {
    hyperparameters = { for i in range(101) : "h${i}" => "1" }
  }

  expect_failures = [var.hyperparameters]
}

run "hyperparameter_value_too_long" {
  command = plan

  variables {
    hyperparameters = { mode = join("", [for i in range(251) : "0123456789"]) }
  }

  expect_failures = [var.hyperparameters]
}

run "model_environment_bad_name" {
  command = plan

  variables {
    model_environment = { "1THREADS" = "2" }
  }

  expect_failures = [var.model_environment]
}

run "transform_instance_count_too_many" {
  command = plan

  variables {
    transform_instance_count = 101
  }

  expect_failures = [var.transform_instance_count]
}

run "transform_batch_strategy_unknown" {
  command = plan

  variables {
    transform_batch_strategy = "Line"
  }

  expect_failures = [var.transform_batch_strategy]
}

run "transform_payload_too_large" {
  command = plan

  variables {
    transform_max_payload_mb = 101
  }

  expect_failures = [var.transform_max_payload_mb]
}

run "transform_record_extras_not_object" {
  command = plan

  variables {
    transform_record_extras = "k=1000000"
  }

  expect_failures = [var.transform_record_extras]
}

run "transform_record_extras_reserved_key" {
  command = plan

  variables {
    transform_record_extras = { source = "x" }
  }

  expect_failures = [var.transform_record_extras]
}

run "volume_kms_key_not_arn" {
  command = plan

  variables {
    volume_kms_key_id = "11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [var.volume_kms_key_id]
}

run "labeling_backend_unknown" {
  command = plan

  variables {
    labeling_backend = "mturk"
  }

  expect_failures = [var.labeling_backend]
}

run "target_accuracy_at_chance" {
  command = plan

  variables {
    target_accuracy = 0.5
  }

  expect_failures = [var.target_accuracy]
}

run "confidence_level_one" {
  command = plan

  variables {
    confidence_level = 1
  }

  expect_failures = [var.confidence_level]
}

run "bootstrap_fraction_zero" {
  command = plan

  variables {
    bootstrap_fraction = 0
  }

  expect_failures = [var.bootstrap_fraction]
}

run "validation_fraction_too_large" {
  command = plan

  variables {
    validation_fraction = 0.6
  }

  expect_failures = [var.validation_fraction]
}

run "human_batch_size_zero" {
  command = plan

  variables {
    human_batch_size = 0
  }

  expect_failures = [var.human_batch_size]
}

run "query_strategy_unknown" {
  command = plan

  variables {
    query_strategy = "uncertainty"
  }

  expect_failures = [var.query_strategy]
}

run "auto_label_method_unknown" {
  command = plan

  variables {
    auto_label_method = "fixed"
  }

  expect_failures = [var.auto_label_method]
}

run "margin_threshold_above_one" {
  command = plan

  variables {
    margin_threshold = 1.5
  }

  expect_failures = [var.margin_threshold]
}

run "max_class_miss_rate_zero" {
  command = plan

  variables {
    max_class_miss_rate = 0
  }

  expect_failures = [var.max_class_miss_rate]
}

run "max_rounds_zero" {
  command = plan

  variables {
    max_rounds = 0
  }

  expect_failures = [var.max_rounds]
}

run "max_human_labels_negative" {
  command = plan

  variables {
    max_human_labels = -1
  }

  expect_failures = [var.max_human_labels]
}

run "seed_negative" {
  command = plan

  variables {
    seed = -1
  }

  expect_failures = [var.seed]
}

run "human_cost_negative" {
  command = plan

  variables {
    human_cost_per_label = -0.01
  }

  expect_failures = [var.human_cost_per_label]
}

run "labeling_timeout_too_short" {
  command = plan

  variables {
    labeling_timeout_seconds = 10
  }

  expect_failures = [var.labeling_timeout_seconds]
}

run "workteam_type_unknown" {
  command = plan

  variables {
    ground_truth_workteam_types = ["mechanical-turk"]
  }

  expect_failures = [var.ground_truth_workteam_types]
}
