# --- run events: what a team must hear of, without watching the console ------------------------------------
#
# EventBridge brings a loop execution's end (succeeded, failed, timed out, aborted) and the loop's own
# "Human batch waiting" event (AnnounceHumanBatch) to NotifyRunEvents, which writes a short message — run,
# state, counts, where the report is; for a failure the failing state, error and cause — on this topic.
# CloudWatch alarms (monitoring.tf) use the same function as their action, so every message has one form.

resource "aws_sns_topic" "run_events" {
  name              = "${var.name_prefix}-run-events"
  kms_master_key_id = coalesce(var.kms_key_arn, "alias/aws/sns")
}

# Only this account may use the topic, only over TLS; NotifyRunEvents publishes with its role.
resource "aws_sns_topic_policy" "run_events" {
  arn = aws_sns_topic.run_events.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountUsesTheTopic"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"]
        Resource  = aws_sns_topic.run_events.arn
      },
      {
        Sid       = "TlsOnly"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.run_events.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_sns_topic_subscription" "run_events_email" {
  for_each = toset(var.notification_emails)

  topic_arn = aws_sns_topic.run_events.arn
  protocol  = "email"
  endpoint  = each.value
}

locals {
  run_event_patterns = {
    execution_status = {
      description = "A labeling run (loop execution) ended: succeeded, failed, timed out or aborted."
      pattern = {
        source        = ["aws.states"]
        "detail-type" = ["Step Functions Execution Status Change"]
        detail = {
          stateMachineArn = [module.loop_state_machine.arn]
          status          = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]
        }
      }
    }
    human_batch_waiting = {
      description = "A labeling run waits for people (the loop's AnnounceHumanBatch event)."
      pattern = {
        source        = ["active-labeling"]
        "detail-type" = ["Human batch waiting"]
        detail        = { state_machine_arn = [module.loop_state_machine.arn] }
      }
    }
  }
}

resource "aws_cloudwatch_event_rule" "run_events" {
  for_each = local.run_event_patterns

  name          = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  description   = each.value.description
  event_pattern = jsonencode(each.value.pattern)
}

resource "aws_cloudwatch_event_target" "run_events" {
  for_each = local.run_event_patterns

  rule = aws_cloudwatch_event_rule.run_events[each.key].name
  arn  = module.lambda["notify_run_events"].arn

  retry_policy {
    maximum_retry_attempts       = 20
    maximum_event_age_in_seconds = 3600
  }
}

resource "aws_lambda_permission" "run_events" {
  for_each = local.run_event_patterns

  statement_id  = "RunEvents-${replace(each.key, "_", "-")}"
  action        = "lambda:InvokeFunction"
  function_name = module.lambda["notify_run_events"].name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.run_events[each.key].arn
}
