"""NotifyRunEvents: one short message per event a team must hear of, for the run-events SNS topic.

Three kinds of event reach it: a loop execution's status change (EventBridge, source aws.states: succeeded,
failed, timed out, aborted), a human batch waiting for people (EventBridge, the custom event the loop puts
before each batch) and a CloudWatch alarm's state change (the alarm action). A fourth, the schedule of the
monitoring (when on), asks how long the running runs have waited for people: the metric the "people keep a
batch waiting" alarm watches. Pure: the handler fetches what a message needs beyond the event (the failing
state, from the execution history; the runs' checkpoints).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from labeling_common.errors import InvalidEvent

EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"
HUMAN_BATCH_WAITING = "Human batch waiting"
EVENT_SOURCE = "active-labeling"  # the source of the loop's own events (PutEvents)


@dataclass(frozen=True)
class Notification:
    subject: str
    message: str


def kind(event: dict) -> str:
    """'execution', 'human_batch', 'alarm' or 'schedule'; anything else is not for this function."""
    if event.get("source") == "aws.states" and event.get("detail-type") == EXECUTION_STATUS_CHANGE:
        return "execution"
    if event.get("source") == EVENT_SOURCE and event.get("detail-type") == HUMAN_BATCH_WAITING:
        return "human_batch"
    if event.get("source") == "aws.cloudwatch" and "alarmData" in event:
        return "alarm"
    if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
        return "schedule"
    raise InvalidEvent(
        f"not a run event: source {event.get('source')!r}, detail-type {event.get('detail-type')!r}", field="source"
    )


def _most_missed_line(missed: dict) -> str:
    limit, items = missed["max_class_miss_rate"], missed["validation_labeled"]
    promise = f"certified at most {limit * 100:g}%." if limit < 1 else "no per-class limit was set (MaxClassMissRate)."
    if missed["missed"] == 0:
        return f"No class's calibration items are counted as another class; {promise}"
    return (
        f"Class most often auto-labeled as another: {missed['class']}, an estimated {missed['missed']:.1%} of its "
        f"items (from {items:,} calibration item{'s' if items != 1 else ''}); {promise}"
    )


def execution_status_change(detail: dict, failed_in: str | None = None) -> Notification:
    name, status = detail.get("name") or detail["executionArn"].rsplit(":", 1)[-1], detail["status"]
    location = output_uri(detail.get("input"))
    resume = "A new execution with the same input resumes from the last checkpoint."
    if location:
        resume += f"\nWhere it stands: labeler status {location}"
    if status == "SUCCEEDED":
        result = _json(detail.get("output")) or {}
        counts = result.get("Counts") or {}
        total = counts.get("total") or 0
        bound = result.get("AutoLabelAccuracyLowerBound")
        lines = [
            f"Labeling run {name} finished ({result.get('StopReason', '?')}) after {result.get('Rounds', '?')} rounds."
        ]
        if total:
            lines.append(
                f"Items {total:,}: human {counts['human']:,} ({counts['human'] / total:.1%}), "
                f"auto {counts['auto']:,} ({counts['auto'] / total:.1%}), unlabeled {counts['unlabeled']:,}."
            )
        lines.append(
            "Auto-labels certified to agree with people's labels: "
            + (f"at least {bound:.2%}." if isinstance(bound, int | float) else "none certified.")
        )
        missed = result.get("MostMissedClass")  # None in outputs of runs before it, or with nothing certified
        if missed:
            lines.append(_most_missed_line(missed))
        lines.append(f"Report: {result.get('ReportHtmlS3Uri') or result.get('ReportS3Uri', '?')}")
        lines.append(f"Final manifest: {result.get('FinalManifestS3Uri', '?')}")
        return Notification(f"Labeling run {name} finished", "\n".join(lines))
    if status == "FAILED":
        state = f" in state {failed_in}" if failed_in else ""
        error, cause = detail.get("error") or "?", detail.get("cause") or "?"
        text = f"Labeling run {name} failed{state}.\nError: {error}\nCause: {cause}\n{resume}"
        return Notification(f"Labeling run {name} failed", text)
    if status in ("TIMED_OUT", "ABORTED"):
        verb = "timed out" if status == "TIMED_OUT" else "was stopped"
        text = f"Labeling run {name} {verb} ({status}).\n{resume}"
        return Notification(f"Labeling run {name} {verb}", text)
    raise InvalidEvent(f"execution status {status!r} is not one this function reports", field="detail.status")


def human_batch_waiting(detail: dict) -> Notification:
    name, items, job, location = detail["execution"], detail["items"], detail["job_name"], detail["output_uri"]
    if detail.get("backend") == "ground_truth":
        how = f"Ground Truth labeling job {job} (the work team is notified by Ground Truth)."
    else:
        how = f"Labeling task {job}: labeler tasks {location} (or the labeling page: labeler serve {location})."
    text = (
        f"Labeling run {name} waits for people: {items:,} items ({detail.get('kind', 'selection')} batch).\n{how}\n"
        f"Where it stands: labeler status {location}"
    )
    return Notification(f"Labeling run {name}: {items:,} items wait for people", text)


def alarm_state_change(event: dict) -> Notification:
    data = event["alarmData"]
    name, state = data["alarmName"], data["state"]
    previous = (data.get("previousState") or {}).get("value")
    text = (
        f"Alarm {name}: {state['value']}" + (f" (was {previous})" if previous else "") + f".\n{state.get('reason', '')}"
    ).rstrip()
    description = (data.get("configuration") or {}).get("description")
    if description:
        text += f"\n{description}"
    return Notification(f"{state['value']}: {name}", text)


def waiting_seconds(saved: dict | None, now: datetime) -> float | None:
    """How long a run has waited for people: since its checkpoint last said that a human batch comes next
    (the batch goes out seconds later). None: it waits for nothing (or has no checkpoint yet)."""
    if not saved or saved["progress"]["next"] != "human_batch" or not saved.get("updated_at"):
        return None
    then = datetime.fromisoformat(saved["updated_at"].replace("Z", "+00:00"))
    return max(0.0, (now - (then if then.tzinfo else then.replace(tzinfo=UTC))).total_seconds())


def output_uri(request_text: str | None) -> str | None:
    """The run's S3OutputPath from the execution input, with its slash (as ValidateInput writes it)."""
    found = ((_json(request_text) or {}).get("OutputConfig") or {}).get("S3OutputPath")
    return found if not found or found.endswith("/") else found + "/"


def subject(text: str) -> str:
    """SNS subjects: at most 100 printable ASCII characters, no line breaks."""
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in text.replace("\n", " "))
    return cleaned[:100]


def _json(text: str | None) -> dict | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
