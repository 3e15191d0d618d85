"""Where a run stands, read from what it writes under its output path and from Step Functions; read-only.

Sources, each written by the workflow itself (docs/contracts.md): `report.json` once the run is exported;
otherwise `working/checkpoint.json` (counts, round, what comes next, the history of human batches and rounds)
and each round's `summary.json` (the certified bound); `working/lock.json` names the execution that holds the
run, DescribeExecution says whether it still runs, `failures/<execution>.json` why it stopped; tasks waiting
for people are the `batches/*/task.json` whose execution still waits for them (as `labeler tasks` lists them).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from labeling_common import layout, report, settings
from labeling_common.s3io import S3Uri, is_not_found

from . import tasks

FINISHED = "finished"


class StatusError(Exception):
    """There is no run to report on at the given location."""


def _read_json(s3: Any, uri: str) -> dict | None:
    loc = S3Uri.parse(uri)
    try:
        return json.loads(s3.get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read())
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def _execution(sfn: Any, arn: str | None) -> dict | None:
    if not arn:
        return None
    try:
        found = sfn.describe_execution(executionArn=arn)
    except ClientError as error:
        return {"arn": arn, "status": "UNKNOWN", "error": error.response["Error"].get("Code")}
    out = {"arn": arn, "name": found.get("name"), "status": found["status"], "started_at": _iso(found.get("startDate"))}
    if found.get("stopDate"):
        out["stopped_at"] = _iso(found["stopDate"])
    cost = (validated_config(sfn, arn) or {}).get("human_cost_per_label")
    out["cost_per_label"] = float(cost) if isinstance(cost, int | float) else None
    return out


def validated_config(sfn: Any, arn: str) -> dict | None:
    """The run's settings as ValidateInput resolved them (the request's, else the deployment's defaults): the
    validated config is in the state output of the execution's first states. None when the history is gone
    (Step Functions keeps it 90 days) or the execution failed before validation."""
    try:
        events = sfn.get_execution_history(executionArn=arn, maxResults=30)["events"]
    except ClientError:
        return None
    for event in events:
        output = (event.get("stateExitedEventDetails") or {}).get("output")
        try:
            config = json.loads(output).get("config") if output else None
        except (ValueError, AttributeError):
            continue
        if isinstance(config, dict) and "target_accuracy" in config:
            return config
    return None


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _shares(counts: dict) -> dict:
    total = counts["total"] or 1
    return {key: counts[key] / total for key in ("human", "auto", "unlabeled")}


def run_status(s3: Any, sfn: Any, output_uri: str) -> dict:
    """Everything `labeler status` shows, as one JSON-able dict."""
    output_uri = output_uri if output_uri.endswith("/") else output_uri + "/"
    report = _read_json(s3, layout.report(output_uri))
    saved = _read_json(s3, layout.checkpoint(output_uri))
    if report is None and saved is None:
        raise StatusError(
            f"no run at {output_uri}: neither report.json nor working/checkpoint.json is there "
            "(give the S3OutputPath of the execution's input)"
        )
    lock = _read_json(s3, layout.lock(output_uri))
    if report is not None:
        return _finished(sfn, output_uri, report, lock)
    return _running(s3, sfn, output_uri, saved, lock)


def report_document(s3: Any, sfn: Any, output_uri: str) -> dict:
    """The run's report document: report.json once the run is exported; before that the same document built
    from the checkpoint, the round summaries and the settings ValidateInput resolved (finished_at null)."""
    output_uri = output_uri if output_uri.endswith("/") else output_uri + "/"
    found = _read_json(s3, layout.report(output_uri))
    if found is not None:
        return found
    saved = _read_json(s3, layout.checkpoint(output_uri))
    if saved is None:
        raise StatusError(f"no run at {output_uri}: neither report.json nor working/checkpoint.json is there")
    arn, _ = _last_execution(s3, output_uri, _read_json(s3, layout.lock(output_uri)))
    config = validated_config(sfn, arn) if arn else None
    if config is None:
        raise StatusError(
            f"the run at {output_uri} has no report yet, and its settings cannot be read from "
            f"{'execution ' + arn if arn else 'any execution'} (its history is gone, or the "
            "run never passed validation)"
        )
    history = saved.get("history", [])
    summaries = {entry["round"]: _read_json(s3, entry["summary_uri"]) for entry in history if entry["kind"] == "round"}
    return report.build(
        config,
        saved["progress"],
        history,
        summaries,
        execution={"arn": arn, "name": arn.rsplit(":", 1)[-1]},
        final_manifest_uri=None,
        created_at=saved.get("created_at"),
        finished_at=None,
    )


def _finished(sfn: Any, output_uri: str, report: dict, lock: dict | None) -> dict:
    counts = report["counts"]
    execution = _execution(sfn, (report.get("execution") or {}).get("arn"))
    accuracy = report["auto_label_accuracy"]
    return {
        "output_uri": output_uri,
        "state": FINISHED,
        "execution": execution,
        "resumed_by": _execution(sfn, lock["execution_arn"]) if lock else None,
        "round": len(report["rounds"]),
        "next": None,
        "stop_reason": report["stop_reason"],
        "counts": counts,
        "shares": _shares(counts),
        "bound": {k: accuracy[k] for k in ("target", "confidence_level", "lower_bound", "estimated")},
        "human_labels_bought": report["cost"]["human_labels_obtained"],
        "human_cost_usd": report["cost"]["human_labeling_usd"],
        "waiting_for": [],
        "failure": None,
        "updated_at": report.get("finished_at"),
        "report_uri": layout.report(output_uri),
        "final_manifest_uri": report.get("final_manifest"),
    }


def _running(s3: Any, sfn: Any, output_uri: str, saved: dict, lock: dict | None) -> dict:
    progress, history = saved["progress"], saved.get("history", [])
    counts = progress["counts"]
    arn, failed = _last_execution(s3, output_uri, lock)
    execution = _execution(sfn, arn)
    last = report.claim_of(_certificate_in_force(s3, progress, history), counts)
    bought = sum(entry.get("labeled", 0) for entry in history if entry["kind"] == "human_batch")
    cost_per_label = (execution or {}).get("cost_per_label")
    if cost_per_label is None:
        cost_per_label = settings.defaults()["HumanCostPerLabel"]
    running = execution is not None and execution["status"] == "RUNNING"
    failure = None
    if execution and execution["status"] in ("FAILED", "TIMED_OUT", "ABORTED"):
        record = failed or _read_json(s3, layout.failure_record(output_uri, execution.get("name") or ""))
        failure = {"error": record["error"], "cause": record["cause"]} if record else {"error": execution["status"]}
    return {
        "output_uri": output_uri,
        "state": "running" if running else "stopped",
        "execution": execution,
        "resumed_by": None,
        "round": progress["round"],
        "next": progress["next"],
        "stop_reason": progress["stop_reason"],
        "counts": counts,
        "shares": _shares(counts),
        "bound": {
            "target": last["target_accuracy"] if last else None,
            "confidence_level": last["confidence_level"] if last else None,
            "lower_bound": last["lower_bound"] if last else None,
            "estimated": last["estimated_accuracy"] if last else None,
        },
        "human_labels_bought": bought,
        "human_cost_usd": round(bought * cost_per_label, 2),
        "waiting_for": _waiting(s3, sfn, output_uri, progress) if running else [],
        "failure": failure,
        "updated_at": saved.get("updated_at"),
        "report_uri": None,
        "final_manifest_uri": None,
    }


def _last_execution(s3: Any, output_uri: str, lock: dict | None) -> tuple[str | None, dict | None]:
    """The execution that holds the run (its lock), else the one that failed last, with its failure record."""
    if lock:
        return lock["execution_arn"], None
    failed = _latest_failure(s3, output_uri)
    return ((failed or {}).get("execution") or {}).get("arn"), failed


def _certificate_in_force(s3: Any, progress: dict, history: list[dict]) -> dict | None:
    """The calibration record of the round whose certificate covers the run's auto-labels, which progress
    names: one summary read, however many rounds the run has."""
    wanted = progress.get("certificate_round")
    entry = next((e for e in reversed(history) if e["kind"] == "round" and e["round"] == wanted), None)
    found = _read_json(s3, entry["summary_uri"]) if entry and entry.get("summary_uri") else None
    return found["calibration"] if found else None


def _latest_failure(s3: Any, output_uri: str) -> dict | None:
    """The newest failure record (RecordFailure writes one per failed execution, and releases the lock)."""
    loc = S3Uri.parse(output_uri + "failures/")
    newest = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=loc.bucket, Prefix=loc.key):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".json") and (newest is None or item["LastModified"] > newest["LastModified"]):
                newest = item
    return _read_json(s3, f"s3://{loc.bucket}/{newest['Key']}") if newest else None


def _waiting(s3: Any, sfn: Any, output_uri: str, progress: dict) -> list[dict]:
    """The human batches the execution waits for: callback tasks, or (Ground Truth) the pending batch."""
    found = [
        {"task_uri": t.uri, "job": t.job_name, "items": t.document["RecordCount"], "since": t.document["CreatedAt"]}
        for t in tasks.find_tasks(s3, sfn, output_uri)
    ]
    if not found and progress["next"] == "human_batch" and progress.get("pending_batch"):
        batch = progress["pending_batch"]
        found.append({"task_uri": None, "job": None, "items": batch["size"], "since": None, "kind": batch["kind"]})
    return found


def render(status: dict, now: datetime | None = None) -> str:
    """The status as a few lines of text."""
    counts, shares = status["counts"], status["shares"]
    execution = status["execution"] or {}
    lines = [f"Run at {status['output_uri']}"]
    state = status["state"]
    if state == FINISHED:
        lines.append(f"  finished ({status['stop_reason']}) after {status['round']} rounds")
    else:
        lines.append(f"  {state}: round {status['round']}, next {status['next']}")
    if execution:
        lines.append(f"  execution {execution.get('name') or execution['arn']}: {execution['status']}")
    if status.get("resumed_by"):  # a finished run taken up again by a new execution with the same input
        later = status["resumed_by"]
        lines.append(f"  since taken up by execution {later.get('name') or later['arn']}: {later['status']}")
    lines.append(
        f"  items {counts['total']:,}: human {counts['human']:,} ({shares['human']:.1%}) · auto {counts['auto']:,} "
        f"({shares['auto']:.1%}) · unlabeled {counts['unlabeled']:,} ({shares['unlabeled']:.1%})"
    )
    bound = status["bound"]
    if bound["lower_bound"] is not None:
        lines.append(
            f"  auto-labels: ≥ {bound['lower_bound']:.2%} agree with people's labels "
            f"(certified at {bound['confidence_level']:.0%}; target {bound['target']:.0%}; "
            f"observed {bound['estimated']:.2%})"
        )
    else:
        lines.append("  auto-labels: none certified yet")
    lines.append(f"  human labels bought: {status['human_labels_bought']:,} (≈ ${status['human_cost_usd']:,.2f})")
    for batch in status["waiting_for"]:
        since = f" since {_utc(batch['since'])} ({_ago(batch['since'], now)})" if batch.get("since") else ""
        where = f": {batch['task_uri']}" if batch.get("task_uri") else ""
        lines.append(f"  waiting for people: {batch['items']:,} items{since}{where}")
    if status["failure"]:
        lines.append(f"  failed: {status['failure']['error']}: {status['failure'].get('cause', '')}".rstrip(": "))
        lines.append("  a new execution with the same input resumes from the last checkpoint")
    if status["report_uri"]:
        lines.append(f"  report: {status['report_uri']} · final manifest: {status['final_manifest_uri']}")
    return "\n".join(lines)


def _parse(stamp: str) -> datetime | None:
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return then if then.tzinfo else then.replace(tzinfo=UTC)  # the workflow writes UTC times


def _utc(stamp: str) -> str:
    then = _parse(stamp)
    return then.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if then else stamp


def _ago(stamp: str, now: datetime | None) -> str:
    then = _parse(stamp)
    if then is None:
        return "?"
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60:02d}m ago" if hours else f"{rest // 60}m {rest % 60:02d}s ago"
