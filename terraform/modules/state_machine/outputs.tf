output "arn" {
  description = "State machine ARN."
  value       = aws_sfn_state_machine.this.arn
}

output "name" {
  description = "State machine name."
  value       = aws_sfn_state_machine.this.name
}

output "role_arn" {
  description = "ARN of the state machine's role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the execution log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "policy" {
  description = "The role's inline policy (JSON)."
  value       = aws_iam_role_policy.this.policy
}

output "definition" {
  description = "The deployed ASL definition."
  value       = aws_sfn_state_machine.this.definition
}
