# Plan-time checks of the whole stack under a mocked provider (no AWS, no network).
# The Lambda zips must exist: run `make build` first (the precondition says so otherwise).

mock_provider "aws" {
  source          = "./tests"
  override_during = plan
}

variables {
  region = "us-east-1"
}

run "lambda_functions" {
  command = plan

  assert {
    condition = toset(keys(module.lambda)) == toset([
      "validate_input", "bootstrap_manifest", "prepare_human_batch", "request_callback_labels", "merge_labels",
      "create_validation_set", "prepare_training", "prepare_inference", "select_and_auto_label", "export_final",
      "record_failure", "notify_run_events",
    ])
    error_message = "There must be exactly one function per directory under functions/."
  }

  assert {
    condition     = alltrue([for key, fn in module.lambda : fn.name == "active-labeling-${replace(key, "_", "-")}"])
    error_message = "Function names must be <name_prefix>-<directory with hyphens>."
  }

  assert {
    condition = alltrue([for key, s in local.function_settings :
      s.handler == "${key}.handler.lambda_handler" && s.zip_path == "./../build/lambda/${key}.zip"
    ])
    error_message = "Handlers must be <dir>.handler.lambda_handler and packages build/lambda/<dir>.zip (relative path)."
  }

  assert {
    condition = alltrue([for key in ["bootstrap_manifest", "prepare_human_batch", "merge_labels", "create_validation_set", "prepare_training", "prepare_inference", "select_and_auto_label", "export_final"] :
      local.function_settings[key].memory_size == 1024 && local.function_settings[key].timeout == 900
    ])
    error_message = "Manifest-streaming functions get 512 MB / 900 s."
  }

  assert {
    condition = alltrue([for key in ["validate_input", "request_callback_labels", "record_failure"] :
      local.function_settings[key].memory_size == 256 && local.function_settings[key].timeout == 60
    ])
    error_message = "Light functions get 256 MB / 60 s."
  }

  assert {
    condition     = alltrue([for key, fn in module.lambda : fn.log_group_name == "/aws/lambda/${fn.name}"])
    error_message = "Every function must have its /aws/lambda/<name> log group."
  }

  assert {
    condition = alltrue([for key, fn in module.lambda :
      fn.environment.POWERTOOLS_SERVICE_NAME == key &&
      fn.environment.POWERTOOLS_METRICS_NAMESPACE == "active-labeling" &&
      fn.environment.POWERTOOLS_LOG_LEVEL == "INFO"
    ])
    error_message = "Every function needs POWERTOOLS_SERVICE_NAME=<dir>, POWERTOOLS_METRICS_NAMESPACE=<name_prefix>, POWERTOOLS_LOG_LEVEL."
  }

  assert {
    condition = (
      toset(keys(module.lambda["validate_input"].environment)) == toset(["POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "SAGEMAKER_ROLE_ARN", "WORKFLOW_DEFAULTS", "JOB_NAME_PREFIX"]) &&
      toset(keys(module.lambda["request_callback_labels"].environment)) == toset(["POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "LABELING_TOPIC_ARN"]) &&
      toset(keys(module.lambda["prepare_training"].environment)) == toset(["POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "MODEL_CONFIG"]) &&
      toset(keys(module.lambda["prepare_inference"].environment)) == toset(["POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "MODEL_CONFIG"]) &&
      toset(keys(module.lambda["create_validation_set"].environment)) == toset(["POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "MODEL_CONFIG"]) &&
      alltrue([for key in ["bootstrap_manifest", "prepare_human_batch", "merge_labels", "select_and_auto_label", "export_final", "record_failure"] :
        length(module.lambda[key].environment) == 3
      ])
    )
    error_message = "Each function gets exactly the environment its code reads."
  }

  assert {
    condition = (
      module.lambda["validate_input"].environment.SAGEMAKER_ROLE_ARN == "arn:aws:iam::123456789012:role/active-labeling-sagemaker" &&
      module.lambda["validate_input"].environment.JOB_NAME_PREFIX == "active-lab" &&
      module.lambda["request_callback_labels"].environment.LABELING_TOPIC_ARN == "arn:aws:sns:us-east-1:123456789012:active-labeling-labeling-tasks" &&
      module.lambda["prepare_training"].environment.MODEL_CONFIG == module.lambda["prepare_inference"].environment.MODEL_CONFIG &&
      module.lambda["create_validation_set"].environment.MODEL_CONFIG == module.lambda["prepare_training"].environment.MODEL_CONFIG &&
      jsondecode(module.lambda["prepare_training"].environment.MODEL_CONFIG) == jsondecode(jsonencode(output.model_config))
    )
    error_message = "Environment values must point at this stack's role, topic and model configuration."
  }

  assert {
    condition = jsondecode(module.lambda["validate_input"].environment.WORKFLOW_DEFAULTS) == {
      LabelingBackend        = "callback"
      TargetAccuracy         = 0.95
      ConfidenceLevel        = 0.95
      BootstrapFraction      = 0.2
      ValidationFraction     = 0.1
      HumanBatchSize         = 500
      QueryStrategy          = "margin"
      AutoLabelMethod        = "calibrated"
      MarginThreshold        = 0.5
      MaxClassMissRate       = 1
      MaxRounds              = 20
      MaxHumanLabels         = 0
      Seed                   = 0
      HumanCostPerLabel      = 0.036
      LabelingTimeoutSeconds = 604800
    }
    error_message = "WORKFLOW_DEFAULTS must hold exactly the BUILTIN_DEFAULTS keys of functions/validate_input/logic.py."
  }
}

run "function_overrides" {
  command = plan

  variables {
    function_overrides = { merge_labels = { memory_size = 2048 }, record_failure = { timeout = 120 } }
  }

  assert {
    condition = (
      local.function_settings.merge_labels.memory_size == 2048 && local.function_settings.merge_labels.timeout == 900 &&
      local.function_settings.record_failure.memory_size == 256 && local.function_settings.record_failure.timeout == 120
    )
    error_message = "function_overrides must override only what it names."
  }
}

run "function_policies" {
  command = plan

  assert {
    condition = alltrue([for key, fn in module.lambda :
      [for s in jsondecode(fn.policy).Statement : s if s.Sid == "OwnLogGroup"][0].Action == ["logs:CreateLogStream", "logs:PutLogEvents"]
    ])
    error_message = "Functions may only write to their log group (it is created by Terraform: no CreateLogGroup)."
  }

  assert {
    condition = jsonencode({
      for key, fn in module.lambda : key => sort([for s in jsondecode(fn.policy).Statement : s.Sid])
      }) == jsonencode({
      validate_input          = ["OwnLogGroup", "TaskTokensStayWithLabelingTools", "WorkflowBucket", "WorkflowBucketObjects", "XRayTraces"]
      bootstrap_manifest      = ["DescribeLoopExecutions", "OwnLogGroup", "RunObjectWrites", "TaskTokensStayWithLabelingTools", "WorkflowBucket", "WorkflowBucketObjects", "XRayTraces"]
      prepare_human_batch     = ["OwnLogGroup", "RunObjectWrites", "TaskTokensStayWithLabelingTools", "WorkflowBucket", "WorkflowBucketObjects", "XRayTraces"]
      request_callback_labels = ["OwnLogGroup", "PublishLabelingTasks", "RunObjectWrites", "TaskTokensStayWithLabelingTools", "WorkflowBucketObjects", "XRayTraces"]
      merge_labels            = ["OwnLogGroup", "RunObjectWrites", "TaskTokensStayWithLabelingTools", "WorkflowBucket", "WorkflowBucketObjects", "XRayTraces"]
      create_validation_set   = ["OwnLogGroup", "RunObjectWrites", "TaskTokensStayWithLabelingTools", "WorkflowBucket", "WorkflowBucketObjects", "XRayTraces"]
      prepare_training        = ["OwnLogGroup", "RunObjectWrites", "TaskTokensStayWithLabelingTools", "WorkflowBucketObjects", "XRayTraces"]
      prepare_inference       = ["OwnLogGroup", "RunObjectWrites", "TaskTokensStayWithLabelingTools", "WorkflowBucketObjects", "XRayTraces"]
      select_and_auto_label   = ["OwnLogGroup", "RunObjectWrites", "TaskTokensStayWithLabelingTools", "WorkflowBucket", "WorkflowBucketObjects", "XRayTraces"]
      export_final            = ["OwnLogGroup", "RunLockRelease", "RunObjectWrites", "TaskTokensStayWithLabelingTools", "WorkflowBucket", "WorkflowBucketObjects", "XRayTraces"]
      record_failure          = ["OwnLogGroup", "RunLockRelease", "RunObjectWrites", "TaskTokensStayWithLabelingTools", "WorkflowBucket", "WorkflowBucketObjects", "XRayTraces"]
      notify_run_events       = ["DescribeLoopExecutions", "ListLoopExecutions", "OwnLogGroup", "PublishRunEvents", "ReadLoopExecutionHistory", "TaskTokensStayWithLabelingTools", "WorkflowBucket", "WorkflowBucketObjects", "XRayTraces"]
    })
    error_message = "Unexpected statements in a function policy (no input buckets, no KMS key by default)."
  }

  assert {
    condition = alltrue(flatten([for key, fn in module.lambda : [
      for s in jsondecode(fn.policy).Statement : (
        s.Sid == "WorkflowBucketObjects" ? s.Resource == ["arn:aws:s3:::active-labeling-123456789012-us-east-1/*"] && s.Action == ["s3:GetObject"] :
        s.Sid == "WorkflowBucket" ? s.Resource == ["arn:aws:s3:::active-labeling-123456789012-us-east-1"] && s.Action == ["s3:ListBucket"] :
        s.Sid == "TaskTokensStayWithLabelingTools" ? s.Effect == "Deny" && s.Action == ["s3:GetObject"] && s.Resource == [
          "arn:aws:s3:::active-labeling-123456789012-us-east-1/batches/*/task.json",
          "arn:aws:s3:::active-labeling-123456789012-us-east-1/*/batches/*/task.json",
        ] :
        s.Effect == "Allow"
      )
    ]]))
    error_message = "Bucket-wide, functions only read (GetObject, ListBucket on the bucket); no function reads task tokens."
  }

  assert {
    condition = jsonencode({
      for key, fn in module.lambda : key => [for s in jsondecode(fn.policy).Statement : [
        for arn in s.Resource : trimprefix(arn, "arn:aws:s3:::active-labeling-123456789012-us-east-1/")
      ] if s.Sid == "RunObjectWrites"]
      }) == jsonencode({
      validate_input          = []
      bootstrap_manifest      = [["working/lock.json", "*/working/lock.json", "working/checkpoint.json", "*/working/checkpoint.json", "working/manifest-*", "*/working/manifest-*"]]
      prepare_human_batch     = [["batches/*/input.manifest", "*/batches/*/input.manifest"]]
      request_callback_labels = [["batches/*/task.json", "*/batches/*/task.json"]]
      merge_labels            = [["working/checkpoint.json", "*/working/checkpoint.json", "working/manifest-*", "*/working/manifest-*"]]
      create_validation_set   = [["working/checkpoint.json", "*/working/checkpoint.json", "working/validation-*", "*/working/validation-*"]]
      prepare_training        = [["rounds/*", "*/rounds/*"]]
      prepare_inference       = [["rounds/*", "*/rounds/*"]]
      select_and_auto_label   = [["rounds/*", "*/rounds/*"]]
      export_final            = [["final_output.manifest", "*/final_output.manifest", "report.json", "*/report.json", "report.html", "*/report.html"]]
      record_failure          = [["failures/*", "*/failures/*"]]
      notify_run_events       = []
    })
    error_message = "Each function writes only the run objects its code writes, at the bucket root or under any output prefix."
  }

  assert {
    condition = jsonencode({
      for key, fn in module.lambda : key => sort(flatten([for s in jsondecode(fn.policy).Statement : s.Action if contains(["RunObjectWrites", "RunLockRelease"], s.Sid)]))
      }) == jsonencode({
      validate_input          = []
      bootstrap_manifest      = ["s3:AbortMultipartUpload", "s3:PutObject"]
      prepare_human_batch     = ["s3:AbortMultipartUpload", "s3:PutObject"]
      request_callback_labels = ["s3:AbortMultipartUpload", "s3:PutObject"]
      merge_labels            = ["s3:AbortMultipartUpload", "s3:PutObject"]
      create_validation_set   = ["s3:AbortMultipartUpload", "s3:PutObject"]
      prepare_training        = ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectTagging"]
      prepare_inference       = ["s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectTagging"]
      select_and_auto_label   = ["s3:AbortMultipartUpload", "s3:PutObject"]
      export_final            = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"]
      record_failure          = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"]
      notify_run_events       = []
    })
    error_message = "Write actions must be exactly what each function's code does (read-only ValidateInput; tagging only where objects are tagged)."
  }

  assert {
    condition = alltrue([for key, fn in module.lambda : alltrue([
      for s in jsondecode(fn.policy).Statement : [
        for arn in s.Resource : trimprefix(arn, "arn:aws:s3:::active-labeling-123456789012-us-east-1/")
      ] == ["working/lock.json", "*/working/lock.json"] if s.Sid == "RunLockRelease"
    ])])
    error_message = "The only object a function deletes is the run lock."
  }

  assert {
    condition = (
      [for s in jsondecode(module.lambda["request_callback_labels"].policy).Statement : s if s.Sid == "PublishLabelingTasks"][0].Resource == ["arn:aws:sns:us-east-1:123456789012:active-labeling-labeling-tasks"] &&
      [for s in jsondecode(module.lambda["bootstrap_manifest"].policy).Statement : s if s.Sid == "DescribeLoopExecutions"][0].Resource == ["arn:aws:states:us-east-1:123456789012:execution:active-labeling-active-learning-loop:*"]
    )
    error_message = "sns:Publish only on the labeling topic; states:DescribeExecution only on the loop's executions."
  }
}

run "input_buckets_and_kms" {
  command = plan

  variables {
    additional_input_bucket_names = ["my-datasets"]
    kms_key_arn                   = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = toset([for key, fn in module.lambda : key if anytrue([for s in jsondecode(fn.policy).Statement : s.Sid == "InputBucketObjects"])]) == toset([
      "validate_input", "bootstrap_manifest", "prepare_human_batch", "request_callback_labels", "merge_labels", "prepare_training", "prepare_inference", "select_and_auto_label",
    ])
    error_message = "Exactly the functions that read user inputs may read the additional input buckets."
  }

  assert {
    condition = alltrue(flatten([for key, fn in module.lambda : [
      for s in jsondecode(fn.policy).Statement : (
        s.Sid == "InputBucketObjects" ? s.Resource == ["arn:aws:s3:::my-datasets/*"] && s.Action == ["s3:GetObject"] :
        s.Sid == "InputBuckets" ? s.Resource == ["arn:aws:s3:::my-datasets"] && s.Action == ["s3:ListBucket"] :
        true
      )
    ]]))
    error_message = "Input buckets are read-only (GetObject, and ListBucket for existence checks)."
  }

  assert {
    condition = alltrue([for key, fn in module.lambda :
      [for s in jsondecode(fn.policy).Statement : s.Resource if s.Sid == "KmsKey"][0] == ["arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"]
    ])
    error_message = "Every function may use the customer key (and only it)."
  }

  assert {
    condition = (
      [for s in jsondecode(module.lambda["validate_input"].policy).Statement : s.Action if s.Sid == "KmsKey"][0] == ["kms:Decrypt"] &&
      [for s in jsondecode(module.lambda["merge_labels"].policy).Statement : s.Action if s.Sid == "KmsKey"][0] == ["kms:Decrypt", "kms:GenerateDataKey"]
    )
    error_message = "Readers decrypt only; writers also generate data keys."
  }

  assert {
    condition     = anytrue([for s in jsondecode(aws_iam_role_policy.sagemaker.policy).Statement : s.Sid == "InputBucketObjects" && s.Resource == ["arn:aws:s3:::my-datasets/*"]])
    error_message = "The SageMaker role reads the input buckets (Ground Truth source-ref objects)."
  }
}

run "state_machine_policies" {
  command = plan

  assert {
    condition = toset([for s in jsondecode(module.loop_state_machine.policy).Statement : s.Resource if s.Sid == "InvokeFunctions"][0]) == toset(flatten([
      for key in ["validate_input", "bootstrap_manifest", "prepare_human_batch", "request_callback_labels", "merge_labels", "export_final", "record_failure"] : [
        "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-${replace(key, "_", "-")}",
        "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-${replace(key, "_", "-")}:*",
      ]
    ]))
    error_message = "The loop may invoke exactly its 7 functions."
  }

  assert {
    condition = toset([for s in jsondecode(module.round_state_machine.policy).Statement : s.Resource if s.Sid == "InvokeFunctions"][0]) == toset(flatten([
      for key in ["create_validation_set", "prepare_training", "prepare_inference", "select_and_auto_label", "merge_labels"] : [
        "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-${replace(key, "_", "-")}",
        "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-${replace(key, "_", "-")}:*",
      ]
    ]))
    error_message = "The round may invoke exactly its 5 functions."
  }

  assert {
    condition = (
      [for s in jsondecode(module.loop_state_machine.policy).Statement : s if s.Sid == "StartRoundExecutions"][0].Resource == ["arn:aws:states:us-east-1:123456789012:stateMachine:active-labeling-active-learning-round"] &&
      [for s in jsondecode(module.loop_state_machine.policy).Statement : s if s.Sid == "StartRoundExecutions"][0].Action == ["states:StartExecution"] &&
      [for s in jsondecode(module.loop_state_machine.policy).Statement : s if s.Sid == "ManageRoundExecutions"][0].Resource == ["arn:aws:states:us-east-1:123456789012:execution:active-labeling-active-learning-round:*"]
    )
    error_message = "The loop may start exactly the round machine and watch/stop only its executions."
  }

  assert {
    condition     = !anytrue([for s in jsondecode(module.round_state_machine.policy).Statement : contains(s.Action, "states:StartExecution")])
    error_message = "The round starts no executions."
  }

  assert {
    condition = (
      [for s in jsondecode(module.loop_state_machine.policy).Statement : s.Resource if s.Sid == "ManagedEventRules"][0] == [
        "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule",
        "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForSageMakerLabelingJobsRule",
      ] &&
      [for s in jsondecode(module.round_state_machine.policy).Statement : s.Resource if s.Sid == "ManagedEventRules"][0] == [
        "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule",
        "arn:aws:events:us-east-1:123456789012:rule/StepFunctionsGetEventsForSageMakerTransformJobsRule",
      ]
    )
    error_message = "events:* permissions only on the managed rules of the .sync integrations each machine uses."
  }

  assert {
    condition = (
      { for s in jsondecode(module.loop_state_machine.policy).Statement : s.Sid => s.Resource if startswith(s.Sid, "SageMaker") } == {
        SageMakerLabelingJobs = ["arn:aws:sagemaker:us-east-1:123456789012:labeling-job/active-lab-*"]
      } &&
      { for s in jsondecode(module.round_state_machine.policy).Statement : s.Sid => s.Resource if startswith(s.Sid, "SageMaker") } == {
        SageMakerTrainingJobs  = ["arn:aws:sagemaker:us-east-1:123456789012:training-job/active-lab-*"]
        SageMakerModels        = ["arn:aws:sagemaker:us-east-1:123456789012:model/active-lab-*"]
        SageMakerTransformJobs = ["arn:aws:sagemaker:us-east-1:123456789012:transform-job/active-lab-*"]
      }
    )
    error_message = "SageMaker permissions only on names starting with the deployment's job prefix."
  }

  assert {
    condition = [for s in jsondecode(module.loop_state_machine.policy).Statement : s if s.Sid == "LabelingJobsOnlyForAllowedWorkteams"] == [{
      Sid       = "LabelingJobsOnlyForAllowedWorkteams"
      Effect    = "Deny"
      Action    = ["sagemaker:CreateLabelingJob"]
      Resource  = ["arn:aws:sagemaker:us-east-1:123456789012:labeling-job/*"]
      Condition = { StringNotEquals = { "sagemaker:WorkteamType" = ["private-crowd", "vendor-crowd"] } }
    }]
    error_message = "Ground Truth jobs may go only to private or vendor work teams by default (no public crowd)."
  }

  assert {
    condition = sort([for s in jsondecode(module.round_state_machine.policy).Statement : s.Action if s.Sid == "SageMakerModels"][0]) == tolist([
      "sagemaker:AddTags", "sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:DescribeModel", "sagemaker:ListTags",
    ])
    error_message = "Model permissions: create, describe, delete (no leaked models), tag."
  }
}

run "least_privilege_everywhere" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for policy in concat([for fn in module.lambda : fn.policy], [module.loop_state_machine.policy, module.round_state_machine.policy, aws_iam_role_policy.sagemaker.policy]) : [
        for s in jsondecode(policy).Statement : [for a in s.Action : !strcontains(a, "*")]
      ]
    ]))
    error_message = "No wildcard actions in any policy."
  }

  assert {
    condition = alltrue(flatten([
      for policy in concat([for fn in module.lambda : fn.policy], [module.loop_state_machine.policy, module.round_state_machine.policy, aws_iam_role_policy.sagemaker.policy]) : [
        for s in jsondecode(policy).Statement : !contains(s.Resource, "*") || contains(["XRayTraces", "LogDelivery", "EcrLogin", "JobMetrics"], s.Sid)
      ]
    ]))
    error_message = "Resource \"*\" only where AWS offers no resource-level permission (X-Ray, log delivery, ECR login, CloudWatch metrics)."
  }

  assert {
    condition = alltrue(flatten([
      for policy in concat([for fn in module.lambda : fn.policy], [module.loop_state_machine.policy, module.round_state_machine.policy, aws_iam_role_policy.sagemaker.policy]) : [
        for s in jsondecode(policy).Statement : !contains(s.Action, "iam:PassRole") || (
          s.Effect == "Allow" && (
            s.Action == ["iam:PassRole"] &&
            s.Resource == ["arn:aws:iam::123456789012:role/active-labeling-sagemaker"] &&
            try(s.Condition, null) == { StringEquals = { "iam:PassedToService" = ["sagemaker.amazonaws.com"] } }
          )
        )
      ]
    ]))
    error_message = "iam:PassRole only for the SageMaker execution role, only to sagemaker.amazonaws.com."
  }

  assert {
    condition     = !anytrue(flatten([for fn in module.lambda : [for s in jsondecode(fn.policy).Statement : contains(s.Action, "iam:PassRole")]]))
    error_message = "No Lambda function may pass roles."
  }

  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.sagemaker.policy).Statement : s.Sid => s.Resource
      } == {
      WorkflowBucketObjects = ["arn:aws:s3:::active-labeling-123456789012-us-east-1/*"]
      WorkflowBucket        = ["arn:aws:s3:::active-labeling-123456789012-us-east-1"]
      RunObjectWrites = [
        "arn:aws:s3:::active-labeling-123456789012-us-east-1/rounds/*",
        "arn:aws:s3:::active-labeling-123456789012-us-east-1/*/rounds/*",
        "arn:aws:s3:::active-labeling-123456789012-us-east-1/batches/*/ground-truth/*",
        "arn:aws:s3:::active-labeling-123456789012-us-east-1/*/batches/*/ground-truth/*",
      ]
      TaskTokensStayWithLabelingTools = [
        "arn:aws:s3:::active-labeling-123456789012-us-east-1/batches/*/task.json",
        "arn:aws:s3:::active-labeling-123456789012-us-east-1/*/batches/*/task.json",
      ]
      EcrLogin   = ["*"]
      EcrPull    = ["arn:aws:ecr:us-east-1:123456789012:repository/active-labeling/text-classifier"]
      JobLogs    = ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/*"]
      JobMetrics = ["*"]
    }
    error_message = "The SageMaker role reaches the workflow bucket, its ECR repository, SageMaker's log groups and metrics - nothing else."
  }

  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.sagemaker.policy).Statement : s.Sid => [s.Effect, s.Action] if startswith(s.Sid, "Workflow") || startswith(s.Sid, "RunObject") || startswith(s.Sid, "TaskTokens")
      } == {
      WorkflowBucketObjects           = ["Allow", ["s3:GetObject"]]
      WorkflowBucket                  = ["Allow", ["s3:ListBucket", "s3:GetBucketLocation"]]
      RunObjectWrites                 = ["Allow", ["s3:PutObject", "s3:AbortMultipartUpload"]]
      TaskTokensStayWithLabelingTools = ["Deny", ["s3:GetObject"]]
    }
    error_message = "SageMaker jobs read the bucket, write only under rounds/ and Ground Truth output folders, and never read task tokens."
  }

  assert {
    condition = jsondecode(aws_iam_role.sagemaker.assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Service = "sagemaker.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }]
    error_message = "Only SageMaker, and only for this account's jobs (aws:SourceAccount), may assume the SageMaker role."
  }
}

run "state_machine_definitions" {
  command = plan

  assert {
    condition     = can(jsondecode(module.loop_state_machine.definition)) && can(jsondecode(module.round_state_machine.definition))
    error_message = "Both rendered definitions must be valid JSON."
  }

  assert {
    condition     = !strcontains(module.loop_state_machine.definition, "$${") && !strcontains(module.round_state_machine.definition, "$${")
    error_message = "No placeholder may survive rendering."
  }

  assert {
    condition = (
      jsondecode(module.loop_state_machine.definition).States.RunActiveLearningRound.Parameters.StateMachineArn == "arn:aws:states:us-east-1:123456789012:stateMachine:active-labeling-active-learning-round" &&
      jsondecode(module.loop_state_machine.definition).States.LabelWithGroundTruth.Parameters.RoleArn == "arn:aws:iam::123456789012:role/active-labeling-sagemaker" &&
      jsondecode(module.loop_state_machine.definition).States.ValidateInput.Resource == "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-validate-input" &&
      jsondecode(module.loop_state_machine.definition).States.LabelWithCallback.Parameters.FunctionName == "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-request-callback-labels"
    )
    error_message = "The loop must get the round machine's ARN, the SageMaker role and the function ARNs from their resources."
  }

  assert {
    condition = (
      toset(regexall("arn:aws:lambda:[^\"]+", module.loop_state_machine.definition)) ==
      toset([for key in local.state_machine_functions.loop : "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-${replace(key, "_", "-")}"]) &&
      toset(regexall("arn:aws:lambda:[^\"]+", module.round_state_machine.definition)) ==
      toset([for key in local.state_machine_functions.round : "arn:aws:lambda:us-east-1:123456789012:function:active-labeling-${replace(key, "_", "-")}"])
    )
    error_message = "Each machine's definition must invoke exactly the functions its role may invoke."
  }

  assert {
    condition     = module.loop_state_machine.log_group_name == "/aws/vendedlogs/states/active-labeling-active-learning-loop" && module.round_state_machine.log_group_name == "/aws/vendedlogs/states/active-labeling-active-learning-round"
    error_message = "State machines log to /aws/vendedlogs/states/<name>."
  }
}

run "outputs" {
  command = plan

  assert {
    condition     = output.start_execution_command == "aws stepfunctions start-execution --region us-east-1 --state-machine-arn arn:aws:states:us-east-1:123456789012:stateMachine:active-labeling-active-learning-loop --name \"run-$(date +%Y%m%d-%H%M%S)\" --input file://request.json"
    error_message = "start_execution_command: ${output.start_execution_command}"
  }

  assert {
    condition = (
      output.bucket_name == "active-labeling-123456789012-us-east-1" &&
      output.labeling_topic_arn == "arn:aws:sns:us-east-1:123456789012:active-labeling-labeling-tasks" &&
      output.ecr_repository_url == "123456789012.dkr.ecr.us-east-1.amazonaws.com/active-labeling/text-classifier" &&
      output.sagemaker_job_prefix == "active-lab" &&
      length(output.function_arns) == 12 && length(output.function_names) == 12 &&
      output.state_machine_role_arns.loop != null && output.state_machine_role_arns.round != null
    )
    error_message = "Outputs must describe the deployed stack."
  }
}

run "local_endpoint_mode" {
  command = plan

  variables {
    aws_endpoint_url = "http://127.0.0.1:5000"
    bucket_name      = "local-labeling"
  }

  assert {
    condition     = startswith(output.start_execution_command, "aws stepfunctions start-execution --endpoint-url http://127.0.0.1:5000 --region us-east-1 ")
    error_message = "In local-endpoint mode the command must target the endpoint: ${output.start_execution_command}"
  }

  assert {
    condition     = local.local_mode && module.storage.bucket_name == "local-labeling"
    error_message = "bucket_name must be used as given."
  }
}

run "job_prefix_and_names" {
  command = plan

  variables {
    name_prefix          = "team-a-labeling"
    sagemaker_job_prefix = "teama"
  }

  assert {
    condition = (
      module.lambda["validate_input"].environment.JOB_NAME_PREFIX == "teama" &&
      module.lambda["validate_input"].name == "team-a-labeling-validate-input" &&
      module.lambda["validate_input"].environment.POWERTOOLS_METRICS_NAMESPACE == "team-a-labeling"
    )
    error_message = "The job prefix and name prefix must reach the functions."
  }
}

run "run_events_and_monitoring" {
  command = plan

  variables {
    notification_emails = ["team@example.com"]
  }

  assert {
    condition = (
      jsondecode(aws_cloudwatch_event_rule.run_events["execution_status"].event_pattern).detail.status == ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"] &&
      jsondecode(aws_cloudwatch_event_rule.run_events["execution_status"].event_pattern).source == ["aws.states"] &&
      jsondecode(aws_cloudwatch_event_rule.run_events["human_batch_waiting"].event_pattern)["detail-type"] == ["Human batch waiting"]
    )
    error_message = "The run-events rules match the loop's ends (not RUNNING) and its human-batch events."
  }

  assert {
    condition = alltrue([for key, target in aws_cloudwatch_event_target.run_events : target.arn == module.lambda["notify_run_events"].arn]) && alltrue([
      for key, permission in aws_lambda_permission.run_events : permission.principal == "events.amazonaws.com" && aws_cloudwatch_event_target.run_events[key].rule == aws_cloudwatch_event_rule.run_events[key].name
    ])
    error_message = "Each rule invokes NotifyRunEvents, which only that rule may invoke that way."
  }

  assert {
    condition = (
      one([for s in jsondecode(aws_sns_topic_policy.run_events.policy).Statement : s if s.Sid == "TlsOnly"]).Condition.Bool["aws:SecureTransport"] == "false" &&
      one([for s in jsondecode(aws_sns_topic_policy.run_events.policy).Statement : s if s.Sid == "AccountUsesTheTopic"]).Principal.AWS == "arn:aws:iam::123456789012:root" &&
      aws_sns_topic.run_events.kms_master_key_id == "alias/aws/sns" &&
      aws_sns_topic_subscription.run_events_email["team@example.com"].protocol == "email"
    )
    error_message = "The run-events topic: encrypted, this account only, TLS only; e-mail subscriptions by variable."
  }

  assert {
    condition = (
      one([for s in jsondecode(module.loop_state_machine.policy).Statement : s if s.Sid == "AnnounceHumanBatches"]).Action == ["events:PutEvents"] &&
      one([for s in jsondecode(module.loop_state_machine.policy).Statement : s if s.Sid == "AnnounceHumanBatches"]).Condition.StringEquals["events:source"] == ["active-labeling"]
    )
    error_message = "The loop may put only its own events (source active-labeling) on the default bus."
  }

  assert {
    condition = (
      length(aws_cloudwatch_metric_alarm.monitoring) == 12 + 2 &&
      alltrue([for key, alarm in aws_cloudwatch_metric_alarm.monitoring : alarm.alarm_actions == toset([module.lambda["notify_run_events"].arn])]) &&
      alltrue([for key, permission in aws_lambda_permission.alarms : permission.principal == "lambda.alarms.cloudwatch.amazonaws.com"]) &&
      aws_cloudwatch_metric_alarm.monitoring["human_batch_waiting"].threshold == 24 * 3600 &&
      one([for q in aws_cloudwatch_metric_alarm.monitoring["human_batch_waiting"].metric_query : q if q.id == "waited"]).metric[0].metric_name == "HumanBatchWaitingSeconds" &&
      one([for q in aws_cloudwatch_metric_alarm.monitoring["failed_runs"].metric_query : q if q.id == "failed"]).metric[0].dimensions.StateMachineArn == module.loop_state_machine.arn
    )
    error_message = "Alarms: failed runs, each function's errors and a long wait for people, all acting through NotifyRunEvents."
  }

  assert {
    condition = (
      aws_cloudwatch_event_rule.waiting_check[0].schedule_expression == "rate(15 minutes)" &&
      length(jsondecode(aws_cloudwatch_dashboard.main[0].dashboard_body).widgets) == 6 &&
      module.lambda["notify_run_events"].environment.LOOP_STATE_MACHINE_ARN == "arn:aws:states:us-east-1:123456789012:stateMachine:active-labeling-active-learning-loop"
    )
    error_message = "The dashboard, and the 15-minute check that feeds the waiting alarm (it finds the loop by its ARN)."
  }
}

run "monitoring_off" {
  command = plan

  variables {
    monitoring = false
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.monitoring) == 0 && length(aws_cloudwatch_dashboard.main) == 0 && length(aws_cloudwatch_event_rule.waiting_check) == 0 && length(aws_cloudwatch_event_rule.run_events) == 2
    error_message = "monitoring = false removes the dashboard, the alarms and the check; run events stay."
  }
}
