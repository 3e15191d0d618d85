# --- monitoring: a dashboard and alarms (var.monitoring, on by default) -------------------------------------
#
# The alarms act through NotifyRunEvents (CloudWatch alarm actions can invoke a function), so their
# messages reach the run-events topic in the same form as the run events, and the topic keeps the AWS
# managed SNS key (which CloudWatch itself could not publish with).

locals {
  # One alarm per function: an alarm's metric math may combine at most 10 metrics.
  function_error_alarms = {
    for key in keys(local.functions) : "errors_${key}" => {
      description = "${local.function_settings[key].name} raised an error (the state machines retry transient ones; a run fails on the others): see its log group."
      threshold   = 1
      period      = 300
      comparison  = "GreaterThanOrEqualToThreshold"
      expression  = "errors"
      metrics = {
        errors = { namespace = "AWS/Lambda", name = "Errors", stat = "Sum", dimensions = { FunctionName = local.function_settings[key].name } }
      }
    }
  }
  monitoring_alarms = var.monitoring ? merge(local.function_error_alarms, {
    failed_runs = {
      description = "A labeling run failed or timed out: its message on the run-events topic says where and why; resume with a new execution with the same input."
      threshold   = 1
      period      = 300
      comparison  = "GreaterThanOrEqualToThreshold"
      expression  = "FILL(failed, 0) + FILL(timed_out, 0)"
      metrics = {
        failed    = { namespace = "AWS/States", name = "ExecutionsFailed", stat = "Sum", dimensions = { StateMachineArn = module.loop_state_machine.arn } }
        timed_out = { namespace = "AWS/States", name = "ExecutionsTimedOut", stat = "Sum", dimensions = { StateMachineArn = module.loop_state_machine.arn } }
      }
    }
    human_batch_waiting = {
      description = "A labeling run has waited for people longer than ${var.human_batch_wait_alarm_hours} hours: labeler status <S3OutputPath> says which batch."
      threshold   = var.human_batch_wait_alarm_hours * 3600
      period      = 900
      comparison  = "GreaterThanThreshold"
      expression  = "waited"
      metrics = {
        waited = { namespace = var.name_prefix, name = "HumanBatchWaitingSeconds", stat = "Maximum", dimensions = { service = "notify_run_events" } }
      }
    }
  }) : {}
}

resource "aws_cloudwatch_metric_alarm" "monitoring" {
  for_each = local.monitoring_alarms

  alarm_name          = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [module.lambda["notify_run_events"].arn]
  ok_actions          = [module.lambda["notify_run_events"].arn]

  metric_query {
    id          = "alarm"
    expression  = each.value.expression
    label       = each.key
    return_data = true
  }

  dynamic "metric_query" {
    for_each = each.value.metrics
    content {
      id = metric_query.key
      metric {
        namespace   = metric_query.value.namespace
        metric_name = metric_query.value.name
        stat        = metric_query.value.stat
        period      = each.value.period
        dimensions  = metric_query.value.dimensions
      }
    }
  }
}

resource "aws_lambda_permission" "alarms" {
  for_each = local.monitoring_alarms

  statement_id   = "Alarm-${replace(each.key, "_", "-")}"
  action         = "lambda:InvokeFunction"
  function_name  = module.lambda["notify_run_events"].name
  principal      = "lambda.alarms.cloudwatch.amazonaws.com"
  source_account = local.account_id
  source_arn     = aws_cloudwatch_metric_alarm.monitoring[each.key].arn
}

# Every 15 minutes NotifyRunEvents measures how long the running runs have waited for people
# (HumanBatchWaitingSeconds), the metric of the human_batch_waiting alarm.
resource "aws_cloudwatch_event_rule" "waiting_check" {
  count = var.monitoring ? 1 : 0

  name                = "${var.name_prefix}-waiting-check"
  description         = "Measure how long running labeling runs have waited for people."
  schedule_expression = "rate(15 minutes)"
}

resource "aws_cloudwatch_event_target" "waiting_check" {
  count = var.monitoring ? 1 : 0

  rule = aws_cloudwatch_event_rule.waiting_check[0].name
  arn  = module.lambda["notify_run_events"].arn
}

resource "aws_lambda_permission" "waiting_check" {
  count = var.monitoring ? 1 : 0

  statement_id  = "WaitingCheck"
  action        = "lambda:InvokeFunction"
  function_name = module.lambda["notify_run_events"].name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.waiting_check[0].arn
}

locals {
  dashboard_metric = { for key, fn in local.function_settings : key => fn.name }
  dashboard_widgets = [
    {
      title = "Labeling runs (loop executions)"
      metrics = [for name in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsAborted", "ExecutionsTimedOut"] :
      ["AWS/States", name, "StateMachineArn", module.loop_state_machine.arn]]
      stat = "Sum"
    },
    {
      title = "Labels per hour: merged from people and from the model, selected for people"
      metrics = [
        [var.name_prefix, "HumanLabelsMerged", "service", "merge_labels"],
        [var.name_prefix, "AutoLabelsMerged", "service", "merge_labels"],
        [var.name_prefix, "SelectedForHumans", "service", "select_and_auto_label"],
        [var.name_prefix, "HumanBatchRecords", "service", "prepare_human_batch"],
      ]
      stat = "Sum"
    },
    {
      title   = "Longest wait for people (seconds)"
      metrics = [[var.name_prefix, "HumanBatchWaitingSeconds", "service", "notify_run_events"]]
      stat    = "Maximum"
    },
    {
      title   = "Rounds (round executions)"
      metrics = [for name in ["ExecutionsSucceeded", "ExecutionsFailed"] : ["AWS/States", name, "StateMachineArn", module.round_state_machine.arn]]
      stat    = "Sum"
    },
    {
      title   = "Function errors"
      metrics = [for key, name in local.dashboard_metric : ["AWS/Lambda", "Errors", "FunctionName", name, { label = key }]]
      stat    = "Sum"
    },
    {
      title   = "Function duration, maximum (ms)"
      metrics = [for key, name in local.dashboard_metric : ["AWS/Lambda", "Duration", "FunctionName", name, { label = key }]]
      stat    = "Maximum"
    },
  ]
}

resource "aws_cloudwatch_dashboard" "main" {
  count = var.monitoring ? 1 : 0

  dashboard_name = var.name_prefix
  dashboard_body = jsonencode({
    widgets = [for i, widget in local.dashboard_widgets : {
      type   = "metric"
      x      = (i % 2) * 12
      y      = floor(i / 2) * 6
      width  = 12
      height = 6
      properties = {
        title   = widget.title
        metrics = widget.metrics
        stat    = widget.stat
        period  = 3600
        region  = local.region
        view    = "timeSeries"
        stacked = false
      }
    }]
  })
}
