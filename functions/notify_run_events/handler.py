"""NotifyRunEvents Lambda: EventBridge (loop execution status changes, human batches waiting) and CloudWatch
alarm actions in, one readable message out on the run-events SNS topic (e-mail, chat, paging). On the
monitoring schedule: the HumanBatchWaitingSeconds metric (the longest wait of a running run) instead."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from labeling_common import checkpoint
from labeling_common.aws import client
from labeling_common.history import failing_state
from labeling_common.observability import entrypoint, logger, metrics

from .logic import (
    alarm_state_change,
    execution_status_change,
    human_batch_waiting,
    kind,
    output_uri,
    subject,
    waiting_seconds,
)


@entrypoint("notify_run_events")
def lambda_handler(event: dict, context: object) -> dict:
    found = kind(event)
    if found == "schedule":
        return _measure_waiting()
    if found == "execution":
        detail = event["detail"]
        failed_in = _failing_state(detail["executionArn"]) if detail["status"] == "FAILED" else None
        note = execution_status_change(detail, failed_in)
    elif found == "human_batch":
        note = human_batch_waiting(event["detail"])
    else:
        note = alarm_state_change(event)
    published = client("sns").publish(
        TopicArn=os.environ["RUN_EVENTS_TOPIC_ARN"], Subject=subject(note.subject), Message=note.message
    )
    logger.info("run event published", kind=found, subject=note.subject)
    return {"kind": found, "message_id": published["MessageId"]}


def _failing_state(execution_arn: str) -> str | None:
    """From the newest history events; a history that cannot be read leaves the state out of the message."""
    try:
        events = client("stepfunctions").get_execution_history(
            executionArn=execution_arn, reverseOrder=True, maxResults=200
        )["events"]
    except Exception as error:  # noqa: BLE001 - the message goes out without the state rather than not at all
        logger.warning("execution history unavailable", error=type(error).__name__)
        return None
    return failing_state(events)


def _measure_waiting() -> dict:
    """The longest time a running run of the loop has waited for people, as a metric (0 when none waits)."""
    sfn, now, longest, running = client("stepfunctions"), datetime.now(UTC), 0.0, 0
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=os.environ["LOOP_STATE_MACHINE_ARN"], statusFilter="RUNNING"
    )
    for execution in (item for page in pages for item in page["executions"]):
        running += 1
        location = output_uri(sfn.describe_execution(executionArn=execution["executionArn"]).get("input"))
        waited = waiting_seconds(checkpoint.load(location), now) if location else None
        longest = max(longest, waited or 0.0)
    metrics.add_metric(name="HumanBatchWaitingSeconds", unit="Seconds", value=longest)
    logger.info("waiting measured", running=running, longest_seconds=round(longest))
    return {"kind": "schedule", "running": running, "longest_wait_seconds": longest}
