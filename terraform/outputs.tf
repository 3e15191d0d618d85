output "loop_state_machine_arn" {
  description = "ARN of the active-learning loop: the state machine you start an execution of."
  value       = module.loop_state_machine.arn
}

output "round_state_machine_arn" {
  description = "ARN of the active-learning round (started by the loop as a nested execution)."
  value       = module.round_state_machine.arn
}

output "bucket_name" {
  description = "Workflow bucket: put S3OutputPath under it (and, unless listed in additional_input_bucket_names, the input manifest and label config)."
  value       = module.storage.bucket_name
}

output "bucket_arn" {
  description = "ARN of the workflow bucket."
  value       = module.storage.bucket_arn
}

output "labeling_topic_arn" {
  description = "SNS topic announcing callback labeling tasks; subscribe your labeling tool (or an e-mail/queue) to it."
  value       = aws_sns_topic.main.arn
}

output "run_events_topic_arn" {
  description = "SNS topic of run events (a run finished, failed or stopped; people are waited for; an alarm): subscribe e-mail, chat or paging to it."
  value       = aws_sns_topic.run_events.arn
}

output "function_names" {
  description = "Lambda function names by function directory name."
  value       = { for key, fn in module.lambda : key => fn.name }
}

output "function_arns" {
  description = "Lambda function ARNs by function directory name."
  value       = { for key, fn in module.lambda : key => fn.arn }
}

output "sagemaker_role_arn" {
  description = "SageMaker execution role of the training, transform and labeling jobs (RoleArn of a request must be this or omitted)."
  value       = aws_iam_role.sagemaker.arn
}

output "state_machine_role_arns" {
  description = "IAM roles of the state machines, by machine (loop, round)."
  value = {
    loop  = module.loop_state_machine.role_arn
    round = module.round_state_machine.role_arn
  }
}

output "ecr_repository_url" {
  description = "ECR repository for the bundled text-classifier image: docker push <url>:<bundled_image_tag>."
  value       = aws_ecr_repository.main.repository_url
}

output "sagemaker_job_prefix" {
  description = "Prefix of every SageMaker job and model name this deployment creates (what its IAM policies allow)."
  value       = local.job_prefix
}

output "model_config" {
  description = "The model configuration: MODEL_CONFIG of CreateValidationSet, PrepareTraining and PrepareInference (schemas/model-config.schema.json)."
  value       = local.model_config
}

output "start_execution_command" {
  description = "Ready-to-paste command that starts a labeling run; request.json is a labeling job request (schemas/labeling-job-request.schema.json)."
  value = join(" ", compact([
    "aws stepfunctions start-execution",
    local.local_mode ? "--endpoint-url ${var.aws_endpoint_url}" : "",
    "--region ${var.region}",
    "--state-machine-arn ${module.loop_state_machine.arn}",
    "--name \"run-$(date +%Y%m%d-%H%M%S)\"",
    "--input file://request.json",
  ]))
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the deployment (null when var.monitoring is false)."
  value       = var.monitoring ? aws_cloudwatch_dashboard.main[0].dashboard_name : null
}
