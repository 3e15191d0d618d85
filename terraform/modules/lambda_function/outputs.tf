output "name" {
  description = "Function name."
  value       = aws_lambda_function.this.function_name
}

output "arn" {
  description = "Function ARN (unqualified)."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "policy" {
  description = "The execution role's inline policy (JSON)."
  value       = aws_iam_role_policy.this.policy
}

output "environment" {
  description = "The function's environment variables."
  value       = var.environment
}
