# MODEL_CONFIG per model preset. tests/terraform/test_terraform.py also runs this file with
# `terraform test -json -verbose` and validates every run's model_config output (and the MODEL_CONFIG
# environment variable) against schemas/model-config.schema.json.

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  region = "us-east-1"
}

run "bundled_default" {
  command = plan

  assert {
    condition = (
      output.model_config.training_image == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-py312-cpu-py3" &&
      output.model_config.inference_image == output.model_config.training_image &&
      output.model_config.channel_format == "jsonlines" &&
      output.model_config.calibration_mode == "cross_fit" &&
      output.model_config.enable_network_isolation == true &&
      output.model_config.transform_batch_strategy == "MultiRecord" &&
      output.model_config.volume_kms_key_id == null &&
      jsonencode(output.model_config.transform_record_extras) == "{}" &&
      output.model_config.sagemaker_role_arn == "arn:aws:iam::123456789012:role/active-labeling-sagemaker"
    )
    error_message = "The default must be the project's model on the region's scikit-learn image: ${jsonencode(output.model_config)}"
  }

  assert {
    condition = (
      data.aws_sagemaker_prebuilt_ecr_image.scikit_learn[0].repository_name == "sagemaker-scikit-learn" &&
      data.aws_sagemaker_prebuilt_ecr_image.scikit_learn[0].image_tag == "1.4-2-py312-cpu-py3" &&
      length(data.aws_sagemaker_prebuilt_ecr_image.blazingtext) == 0
    )
    error_message = "The bundled preset runs on the region's scikit-learn 1.4-2 image for Python 3.12 (the versions local mode runs with)."
  }

  assert {
    # Script mode: train.py from the archive, which arrives as the `code` channel (network isolation).
    condition = output.model_config.hyperparameters == tomap({
      sagemaker_program          = "train.py"
      sagemaker_submit_directory = "/opt/ml/input/data/code/sourcedir.tar.gz"
    })
    error_message = "The bundled preset must name its entry point and the code channel's archive: ${jsonencode(output.model_config.hyperparameters)}"
  }

  assert {
    condition = output.model_config.model_environment == tomap({
      SAGEMAKER_PROGRAM                    = "inference.py"
      SAGEMAKER_SUBMIT_DIRECTORY           = "/opt/ml/model/code"
      SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT = "application/jsonlines"
      SAGEMAKER_MODEL_SERVER_WORKERS       = "1"
      SAGEMAKER_MODEL_SERVER_TIMEOUT       = "3600"
      PIP_NO_INDEX                         = "1"
      PIP_FIND_LINKS                       = "/opt/ml/code/wheels"
    })
    error_message = "The model server must import inference.py from the model's code/ folder: ${jsonencode(output.model_config.model_environment)}"
  }

  assert {
    # The archive make build wrote, uploaded under its own SHA-256, and named in MODEL_CONFIG.
    condition = (
      aws_s3_object.source_archive[0].source == "./../build/sagemaker/text-classifier-source.tar.gz" &&
      aws_s3_object.source_archive[0].bucket == module.storage.bucket_name &&
      aws_s3_object.source_archive[0].key == "code/text-classifier/${filesha256("${path.module}/../build/sagemaker/text-classifier-source.tar.gz")}/sourcedir.tar.gz" &&
      output.model_config.source_archive == "s3://${module.storage.bucket_name}/${aws_s3_object.source_archive[0].key}"
    )
    error_message = "The source archive must be uploaded keyed by its hash and named in MODEL_CONFIG: ${jsonencode(output.model_config.source_archive)}"
  }

  assert {
    condition = toset(keys(output.model_config)) == toset([
      "training_image", "inference_image", "channel_format", "calibration_mode", "cross_fit_folds",
      "training_instance_type", "training_instance_count", "training_volume_gb", "max_runtime_seconds",
      "hyperparameters", "model_environment", "enable_network_isolation", "transform_instance_type",
      "transform_instance_count", "transform_batch_strategy", "transform_max_payload_mb",
      "transform_record_extras", "sagemaker_role_arn", "volume_kms_key_id", "source_archive",
    ])
    error_message = "MODEL_CONFIG must have exactly the properties of schemas/model-config.schema.json."
  }

  assert {
    condition     = jsondecode(module.lambda["prepare_training"].environment.MODEL_CONFIG) == jsondecode(jsonencode(output.model_config))
    error_message = "PrepareTraining's MODEL_CONFIG must be the model_config output."
  }
}

run "bundled_without_its_archive" {
  command = plan

  variables {
    source_archive_path = "nowhere/sourcedir.tar.gz"
  }

  expect_failures = [aws_s3_object.source_archive]
}

run "bundled_hyperparameters_add_to_the_toolkit_settings" {
  command = plan

  variables {
    hyperparameters   = { random_state = "0" }
    model_environment = { OMP_NUM_THREADS = "2" }
  }

  assert {
    condition = (
      output.model_config.hyperparameters["random_state"] == "0" &&
      output.model_config.hyperparameters["sagemaker_program"] == "train.py" &&
      output.model_config.model_environment["OMP_NUM_THREADS"] == "2" &&
      output.model_config.model_environment["SAGEMAKER_PROGRAM"] == "inference.py"
    )
    error_message = "Hyperparameters and model environment variables must add to the script-mode settings, not replace them."
  }
}

run "blazingtext" {
  command = plan

  variables {
    model_preset = "blazingtext"
  }

  assert {
    condition = (
      output.model_config.training_image == "811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:1" &&
      output.model_config.inference_image == output.model_config.training_image &&
      output.model_config.channel_format == "augmented_manifest" &&
      output.model_config.calibration_mode == "holdout" &&
      output.model_config.training_instance_count == 1 &&
      output.model_config.enable_network_isolation == true &&
      output.model_config.transform_batch_strategy == "MultiRecord" &&
      output.model_config.volume_kms_key_id == null &&
      output.model_config.sagemaker_role_arn == "arn:aws:iam::123456789012:role/active-labeling-sagemaker"
    )
    error_message = "The blazingtext preset must be a consistent BlazingText setup: ${jsonencode(output.model_config)}"
  }

  assert {
    condition = output.model_config.hyperparameters == tomap({
      mode          = "supervised", epochs = "20", early_stopping = "True", patience = "5", min_epochs = "1",
      learning_rate = "0.05", min_count = "5", vector_dim = "20", word_ngrams = "2",
    })
    error_message = "BlazingText hyperparameters must be the AWS sample's supervised settings."
  }

  assert {
    # A number, not the string "1000000": the extras are merged into each JSON line as they are.
    condition     = jsonencode(output.model_config.transform_record_extras) == "{\"k\":1000000}"
    error_message = "BlazingText needs {\"k\": 1000000} (a number) in every transform line: ${jsonencode(output.model_config.transform_record_extras)}"
  }
  assert {
    condition     = output.model_config.source_archive == null && length(aws_s3_object.source_archive) == 0
    error_message = "Only the bundled preset ships a source archive."
  }
}

run "blazingtext_pinned_image" {
  command = plan

  variables {
    model_preset    = "blazingtext"
    training_image  = "811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:latest"
    hyperparameters = { mode = "supervised", epochs = "10", min_count = "1" }
  }

  assert {
    condition = (
      output.model_config.training_image == "811284229777.dkr.ecr.us-east-1.amazonaws.com/blazingtext:latest" &&
      output.model_config.hyperparameters == tomap({ mode = "supervised", epochs = "10", min_count = "1" }) &&
      output.model_config.channel_format == "augmented_manifest"
    )
    error_message = "Explicit variables override the preset's values."
  }
}

run "bundled_image" {
  command = plan

  variables {
    model_preset           = "bundled_image"
    training_instance_type = "ml.m5.large"
    hyperparameters        = { random_state = "0" }
  }

  assert {
    condition = (
      output.model_config.training_image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/active-labeling/text-classifier:0.1.0" &&
      output.model_config.inference_image == output.model_config.training_image &&
      output.model_config.channel_format == "jsonlines" &&
      output.model_config.calibration_mode == "cross_fit" &&
      output.model_config.cross_fit_folds == 5 &&
      output.model_config.training_instance_type == "ml.m5.large" &&
      jsonencode(output.model_config.transform_record_extras) == "{}"
    )
    error_message = "The bundled_image preset uses this stack's ECR repository, jsonlines, cross-fit calibration and no extras: ${jsonencode(output.model_config)}"
  }
}

run "custom" {
  command = plan

  variables {
    model_preset             = "custom"
    training_image           = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:3"
    inference_image          = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model-serve:3"
    model_channel_format     = "jsonlines"
    calibration_mode         = "cross_fit"
    cross_fit_folds          = 10
    hyperparameters          = { epochs = "5" }
    model_environment        = { MODEL_THREADS = "2" }
    enable_network_isolation = false
    transform_batch_strategy = "SingleRecord"
    transform_max_payload_mb = 1
    transform_record_extras  = { top_k = 3, return_probabilities = true, labels = ["a", "b"] }
    volume_kms_key_id        = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = (
      output.model_config.training_image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:3" &&
      output.model_config.inference_image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model-serve:3" &&
      output.model_config.calibration_mode == "cross_fit" &&
      output.model_config.cross_fit_folds == 10 &&
      output.model_config.enable_network_isolation == false &&
      output.model_config.transform_batch_strategy == "SingleRecord" &&
      output.model_config.model_environment == tomap({ MODEL_THREADS = "2" }) &&
      output.model_config.volume_kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    )
    error_message = "The custom preset takes everything from the variables: ${jsonencode(output.model_config)}"
  }

  assert {
    condition     = jsonencode(output.model_config.transform_record_extras) == "{\"labels\":[\"a\",\"b\"],\"return_probabilities\":true,\"top_k\":3}"
    error_message = "Record extras must keep their JSON types: ${jsonencode(output.model_config.transform_record_extras)}"
  }

  assert {
    condition = (
      [for s in jsondecode(aws_iam_role_policy.sagemaker.policy).Statement : s.Resource if s.Sid == "VolumeKmsKeyGrant"][0] == ["arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"] &&
      [for s in jsondecode(aws_iam_role_policy.sagemaker.policy).Statement : s.Condition if s.Sid == "VolumeKmsKeyGrant"][0] == { Bool = { "kms:GrantIsForAWSResource" = ["true"] } }
    )
    error_message = "The SageMaker role may create grants on the volume key, for AWS resources only."
  }

  assert {
    condition     = length(data.aws_sagemaker_prebuilt_ecr_image.blazingtext) == 0
    error_message = "No BlazingText lookup when it is not used."
  }
}

run "custom_augmented_manifest" {
  command = plan

  variables {
    model_preset         = "custom"
    training_image       = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-blazingtext-fork:1"
    model_channel_format = "augmented_manifest"
  }

  assert {
    condition     = output.model_config.channel_format == "augmented_manifest" && output.model_config.calibration_mode == "holdout"
    error_message = "augmented_manifest pairs with holdout calibration."
  }
}
