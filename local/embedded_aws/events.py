"""(e) EventBridge as the workflow uses it: execution status change events, and Lambda targets.

WHY: moto 5.2.5's Step Functions interpreter puts no "Step Functions Execution Status Change" event on the
bus when an execution ends (LocalStack's, which moto ports, does; the hook is left out), and moto's
EventBridge delivers only to log groups, archives, SQS queues and other buses: moto refuses a rule with a
Lambda target when an event matches it. The run-events rules (terraform/notifications.tf) need both.

MOTO INTERNALS TOUCHED (moto 5.2.5):
- BaseExecutionWorkerCommunication.terminated: wrapped; once moto has recorded the final status, one event is
  put on the default bus of the execution's account and region, with AWS's detail (DescribeExecution's
  fields in camelCase, dates in epoch milliseconds). Only while the embedded AWS is active (STATE.active).
- events.models.Rule.send_to_targets: Lambda targets are invoked asynchronously (InvocationType Event)
  through lambda_runtime, with the event as EventBridge delivers it ("time" an ISO timestamp); the other
  targets are left to moto. A scheduled rule (no event pattern) receives no events at all: moto's empty
  pattern matches every event, so each run event reached NotifyRunEvents twice, once through the monitoring
  schedule's rule. Schedules themselves do not fire here.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .sfn_sync import epoch_millis
from .state import STATE

LOG = logging.getLogger(__name__)
STATUS_CHANGE = "Step Functions Execution Status Change"


def status_change_detail(described: dict) -> dict:
    """DescribeExecution's output (moto's dict, Step Functions casing) as the event's detail."""
    return {
        "executionArn": described["executionArn"],
        "stateMachineArn": described["stateMachineArn"],
        "name": described.get("name"),
        "status": described["status"],
        "startDate": epoch_millis(described.get("startDate")),
        "stopDate": epoch_millis(described.get("stopDate")),
        "input": described.get("input"),
        "output": described.get("output"),
        "inputDetails": {"included": True},
        "outputDetails": {"included": True},
        "error": described.get("error"),
        "cause": described.get("cause"),
    }


def _publish_status_change(execution: Any) -> None:
    from moto.events.models import events_backends

    if getattr(execution, "_status_change_published", False):
        return
    execution._status_change_published = True
    detail = status_change_detail(execution.to_describe_output())
    events_backends[execution.account_id][execution.region_name].put_events(
        [
            {
                "Source": "aws.states",
                "DetailType": STATUS_CHANGE,
                "Detail": json.dumps(detail),
                "Resources": [detail["executionArn"]],
            }
        ]
    )


def _install_status_change_events() -> None:
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    if getattr(BaseExecutionWorkerCommunication.terminated, "_embedded", False):
        return
    original = BaseExecutionWorkerCommunication.terminated

    def terminated(self) -> None:
        original(self)
        if STATE.active:
            try:
                _publish_status_change(self.execution)
            except Exception:  # noqa: BLE001 - an event lost must not leave the execution unfinished
                LOG.exception("status change event of %s not published", self.execution.exec_arn)

    terminated._embedded = True
    BaseExecutionWorkerCommunication.terminated = terminated


def _install_lambda_targets() -> None:
    from moto.awslambda.utils import get_backend as lambda_backend
    from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp
    from moto.events.models import Rule
    from moto.utilities.arns import parse_arn

    if getattr(Rule.send_to_targets, "_embedded", False):
        return
    original = Rule.send_to_targets

    def send_to_targets(self, original_event: dict, transform_input: bool = True) -> None:
        if not STATE.active:
            return original(self, original_event, transform_input)
        if self.scheduled_expression and not self.event_pattern._pattern:
            return None  # on AWS a schedule's rule matches no event
        arns = [(target, parse_arn(target["Arn"])) for target in self.targets]
        lambdas = [(target, arn) for target, arn in arns if arn.service == "lambda"]
        if lambdas and self.event_pattern.matches_event(original_event):
            event = dict(original_event)
            if isinstance(event.get("time"), int | float):
                event["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(event["time"]))
            event.pop("ingestion-time", None)
            for target, arn in lambdas:
                function = lambda_backend(arn.account, arn.region).get_function(target["Arn"])
                function.invoke(json.dumps(event), {"X-Amz-Invocation-Type": "Event"}, None)
        others = [target for target, arn in arns if arn.service != "lambda"]
        if others:
            kept, self.targets = self.targets, others
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = kept
        return None

    send_to_targets._embedded = True
    Rule.send_to_targets = send_to_targets


def install() -> None:
    _install_status_change_events()
    _install_lambda_targets()
