# Least-privilege IAM, built from data (local.functions and the maps below) rather than hand-written
# statements. Policies are jsonencode()d maps, never aws_iam_policy_document data sources: those are
# random strings under mock_provider, and these documents are exactly what terraform/tests assert on.
#
# Statements are maps keyed by Sid: { actions, resources, conditions? }. The modules add the statements
# every function / state machine needs (own log group, X-Ray) and render the JSON.

locals {
  bucket_arn        = module.storage.bucket_arn
  input_bucket_arns = [for name in var.additional_input_bucket_names : "arn:${local.partition}:s3:::${name}"]
  kms_key_arns      = var.kms_key_arn == null ? [] : [var.kms_key_arn]

  # Bucket-level S3 actions (resource = the bucket); every other S3 action is on objects (bucket/*).
  s3_bucket_level_actions = ["s3:ListBucket", "s3:GetBucketLocation"]

  # A run's objects are named relative to its S3OutputPath, which may be the bucket root or any prefix:
  # a key pattern is granted at both places.
  run_object_arns = { for pattern in distinct(flatten([
    for fn in values(local.functions) : concat(fn.writes, fn.deletes)
    ])) : pattern => ["${local.bucket_arn}/${pattern}", "${local.bucket_arn}/*/${pattern}"]
  }

  # Task tokens (batches/<job>/task.json) are for the labeling tools, which read them with their own
  # credentials: every workflow role is denied reading them, even those that read the bucket widely.
  task_token_denial = {
    effect    = "Deny"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arn}/batches/*/task.json", "${local.bucket_arn}/*/batches/*/task.json"]
  }

  # --- Lambda functions --------------------------------------------------------------------------------

  # Named extra permissions a function asks for in local.functions[*].grants.
  function_grants = {
    describe_loop_executions = {
      sid     = "DescribeLoopExecutions"
      actions = ["states:DescribeExecution"]
      # Executions of the loop machine, built from its name: execution ARNs exist only at run time.
      resources = ["arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_names.loop}:*"]
    }
    publish_labeling_tasks = {
      sid       = "PublishLabelingTasks"
      actions   = ["sns:Publish"]
      resources = [aws_sns_topic.main.arn]
    }
    publish_run_events = {
      sid       = "PublishRunEvents"
      actions   = ["sns:Publish"]
      resources = [aws_sns_topic.run_events.arn]
    }
    list_loop_executions = {
      sid       = "ListLoopExecutions"
      actions   = ["states:ListExecutions"]
      resources = [local.loop_state_machine_arn]
    }
    # The failing state of a failed run, for its message.
    read_loop_history = {
      sid       = "ReadLoopExecutionHistory"
      actions   = ["states:GetExecutionHistory"]
      resources = ["arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_names.loop}:*"]
    }
  }

  function_policy_statements = {
    for key, fn in local.functions : key => {
      for sid, statement in merge(
        {
          WorkflowBucketObjects = {
            actions   = [for a in fn.bucket_actions : a if !contains(local.s3_bucket_level_actions, a)]
            resources = ["${local.bucket_arn}/*"]
          }
          WorkflowBucket = {
            actions   = [for a in fn.bucket_actions : a if contains(local.s3_bucket_level_actions, a)]
            resources = [local.bucket_arn]
          }
          RunObjectWrites = {
            actions   = concat(["s3:PutObject", "s3:AbortMultipartUpload"], fn.tags_objects ? ["s3:PutObjectTagging"] : [])
            resources = flatten([for pattern in fn.writes : local.run_object_arns[pattern]])
          }
          RunLockRelease = {
            actions   = ["s3:DeleteObject"]
            resources = flatten([for pattern in fn.deletes : local.run_object_arns[pattern]])
          }
          TaskTokensStayWithLabelingTools = local.task_token_denial
          InputBucketObjects = {
            actions   = [for a in fn.input_actions : a if !contains(local.s3_bucket_level_actions, a)]
            resources = [for arn in local.input_bucket_arns : "${arn}/*"]
          }
          InputBuckets = {
            actions   = [for a in fn.input_actions : a if contains(local.s3_bucket_level_actions, a)]
            resources = local.input_bucket_arns
          }
          # SSE-KMS: reading needs Decrypt; writing (and multipart uploads) GenerateDataKey too.
          KmsKey = {
            actions   = length(fn.writes) > 0 || contains(fn.grants, "publish_run_events") ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"]
            resources = local.kms_key_arns
          }
        },
        { for grant in fn.grants : local.function_grants[grant].sid => {
          actions   = local.function_grants[grant].actions
          resources = local.function_grants[grant].resources
        } },
      ) : sid => merge({ effect = "Allow" }, statement) if length(statement.actions) > 0 && length(statement.resources) > 0
    }
  }

  # --- state machines --------------------------------------------------------------------------------------

  # SageMaker resources each machine creates, by ARN resource type; all limited to this deployment's
  # job prefix. SageMaker lower-cases names in ARNs, which is why the prefix is lower-case. AddTags: the
  # requests carry Tags. ListTags: part of the policies Step Functions documents for these integrations
  # (there on "*"; here on the same name patterns).
  sagemaker_permissions = {
    loop = {
      "labeling-job" = ["sagemaker:CreateLabelingJob", "sagemaker:DescribeLabelingJob", "sagemaker:StopLabelingJob"]
    }
    round = {
      "training-job"  = ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"]
      "model"         = ["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:DeleteModel"]
      "transform-job" = ["sagemaker:CreateTransformJob", "sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"]
    }
  }

  # EventBridge managed rules Step Functions creates in the account for its ".sync" integrations
  # (docs.aws.amazon.com/step-functions/latest/dg/sagemaker-iam.html, .../stepfunctions-iam.html).
  # The labeling-job rule is not listed on those pages; its name follows the same convention.
  managed_event_rules = {
    loop  = ["StepFunctionsGetEventsForStepFunctionsExecutionRule", "StepFunctionsGetEventsForSageMakerLabelingJobsRule"]
    round = ["StepFunctionsGetEventsForSageMakerTrainingJobsRule", "StepFunctionsGetEventsForSageMakerTransformJobsRule"]
  }

  state_machine_common_statements = {
    for name in ["loop", "round"] : name => {
      for sid, statement in merge(
        {
          for type, actions in local.sagemaker_permissions[name] : "SageMaker${join("", [for word in split("-", type) : title(word)])}s" => {
            actions   = concat(actions, ["sagemaker:AddTags", "sagemaker:ListTags"])
            resources = ["arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:${type}/${local.job_prefix}-*"]
          }
        },
        {
          ManagedEventRules = {
            actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
            resources = [for rule in local.managed_event_rules[name] : "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${rule}"]
          }
          PassSageMakerRole = {
            actions    = ["iam:PassRole"]
            resources  = [aws_iam_role.sagemaker.arn]
            conditions = { StringEquals = { "iam:PassedToService" = ["sagemaker.amazonaws.com"] } }
          }
          # State machine data encrypted with the customer key (encryption_configuration).
          KmsKey = {
            actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
            resources = local.kms_key_arns
          }
        },
      ) : sid => statement if length(statement.resources) > 0
    }
  }

  round_policy_statements = merge(local.state_machine_common_statements.round, {
    InvokeFunctions = {
      actions   = ["lambda:InvokeFunction"]
      resources = flatten([for key in local.state_machine_functions.round : [module.lambda[key].arn, "${module.lambda[key].arn}:*"]])
    }
  })

  loop_policy_statements = merge(local.state_machine_common_statements.loop, {
    # Ground Truth jobs go only to the work team types the deployment allows (private by default: the
    # items may be confidential); a request naming a public work team is refused by IAM.
    LabelingJobsOnlyForAllowedWorkteams = {
      effect     = "Deny"
      actions    = ["sagemaker:CreateLabelingJob"]
      resources  = ["arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:labeling-job/*"]
      conditions = { StringNotEquals = { "sagemaker:WorkteamType" = var.ground_truth_workteam_types } }
    }
    InvokeFunctions = {
      actions   = ["lambda:InvokeFunction"]
      resources = flatten([for key in local.state_machine_functions.loop : [module.lambda[key].arn, "${module.lambda[key].arn}:*"]])
    }
    # AnnounceHumanBatch: the loop's own events only, on the default bus (the run-events rule listens there).
    AnnounceHumanBatches = {
      actions    = ["events:PutEvents"]
      resources  = ["arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default"]
      conditions = { StringEquals = { "events:source" = ["active-labeling"] } }
    }
    StartRoundExecutions = {
      actions   = ["states:StartExecution"]
      resources = [module.round_state_machine.arn]
    }
    # startExecution.sync:2 watches and, when the loop is stopped, stops the round's execution.
    ManageRoundExecutions = {
      actions   = ["states:DescribeExecution", "states:StopExecution"]
      resources = ["${replace(module.round_state_machine.arn, ":stateMachine:", ":execution:")}:*"]
    }
  })

  # --- SageMaker execution role (training, transform, Ground Truth labeling jobs) ---------------------------

  ecr_repository_arns = concat([aws_ecr_repository.main.arn], var.additional_ecr_repository_arns)

  sagemaker_statements = {
    # Reads: channels, model artifacts, transform input, Ground Truth batches (and source-ref texts, which
    # may live anywhere in the bucket).
    WorkflowBucketObjects = {
      actions   = ["s3:GetObject"]
      resources = ["${local.bucket_arn}/*"]
    }
    # Writes: model artifacts and transform output under a round's folder, Ground Truth output under its
    # batch's folder (at the bucket root or under any prefix, like the run's S3OutputPath).
    RunObjectWrites = {
      actions = ["s3:PutObject", "s3:AbortMultipartUpload"]
      resources = flatten([for pattern in ["rounds/*", "batches/*/ground-truth/*"] : [
        "${local.bucket_arn}/${pattern}", "${local.bucket_arn}/*/${pattern}",
      ]])
    }
    TaskTokensStayWithLabelingTools = local.task_token_denial
    WorkflowBucket = {
      actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
      resources = [local.bucket_arn]
    }
    # Ground Truth reads source-ref objects and label configs from users' buckets.
    InputBucketObjects = {
      actions   = ["s3:GetObject"]
      resources = [for arn in local.input_bucket_arns : "${arn}/*"]
    }
    InputBuckets = {
      actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
      resources = local.input_bucket_arns
    }
    # ECR has no resource-level permission for the registry login: "*" is the only valid Resource.
    EcrLogin = {
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
    EcrPull = {
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
      resources = local.ecr_repository_arns
    }
    # SageMaker writes job logs to the account's /aws/sagemaker/TrainingJobs, .../TransformJobs and
    # .../LabelingJobs log groups, which it creates on first use.
    JobLogs = {
      actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
      resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/sagemaker/*"]
    }
    # CloudWatch metrics have no resource-level permissions ("*" is required); the namespace condition
    # limits the role to SageMaker's own namespaces.
    JobMetrics = {
      actions    = ["cloudwatch:PutMetricData"]
      resources  = ["*"]
      conditions = { StringLike = { "cloudwatch:namespace" = ["/aws/sagemaker/*"] } }
    }
    KmsKey = {
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = local.kms_key_arns
    }
    # Encrypted ML storage volumes: SageMaker creates a grant for the instances' EBS volumes.
    VolumeKmsKeyGrant = {
      actions    = ["kms:CreateGrant"]
      resources  = var.volume_kms_key_id == null ? [] : [var.volume_kms_key_id]
      conditions = { Bool = { "kms:GrantIsForAWSResource" = ["true"] } }
    }
    VolumeKmsKey = {
      actions   = ["kms:DescribeKey", "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
      resources = var.volume_kms_key_id == null ? [] : [var.volume_kms_key_id]
    }
  }

  sagemaker_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      for sid, statement in local.sagemaker_statements : merge(
        { Sid = sid, Effect = try(statement.effect, "Allow"), Action = statement.actions, Resource = statement.resources },
        { for key, value in { Condition = try(statement.conditions, null) } : key => value if value != null },
      ) if length(statement.resources) > 0
    ]
  })
}

resource "aws_iam_role" "sagemaker" {
  name        = "${var.name_prefix}-sagemaker"
  description = "Execution role of the training, transform and labeling jobs of ${var.name_prefix}."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "sagemaker.amazonaws.com" }
      Action    = "sts:AssumeRole"
      # Confused deputy: SageMaker may assume the role only for jobs of this account.
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role_policy" "sagemaker" {
  name   = "sagemaker-jobs"
  role   = aws_iam_role.sagemaker.id
  policy = local.sagemaker_policy
}
