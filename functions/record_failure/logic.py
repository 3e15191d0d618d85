"""RecordFailure: what the failure record says.

A failed round reaches the loop as `States.TaskFailed` whose cause is the child execution's description,
whose cause in turn holds the round's original error (see DescribeRoundFailure in the round machine). The
record names that original error, so "InvalidInferenceOutput in round 3" is what the user reads, not a
generic task failure. A Fail state may not raise reserved `States.*` names, so those become `Workflow.*`.
"""

from __future__ import annotations

import json

RESERVED_PREFIX = "States."
WRAPPERS = ("States.TaskFailed", "RoundFailed")  # errors whose cause carries the real one


def _json(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def original_error(error: str, cause: str) -> tuple[str, str]:
    """Follow nested failures (loop -> round execution -> round state -> Lambda) to the first real error."""
    for _ in range(5):
        described = _json(cause)
        if described is None:
            break
        inner_error = described.get("Error") or described.get("error")  # DescribeExecution / {"Error", "Cause"}
        inner_cause = described.get("Cause") or described.get("cause") or ""
        if error in WRAPPERS and inner_error:
            error, cause = inner_error, inner_cause
        elif "errorMessage" in described:  # a Lambda function error payload
            cause = described["errorMessage"]
            break
        else:
            break
    if error.startswith(RESERVED_PREFIX):
        error = "Workflow." + error[len(RESERVED_PREFIX) :]
    return error, cause


def failure_document(event: dict, at: str) -> dict:
    state = event["state"] if isinstance(event["state"], dict) else {}
    raw = event.get("error") or {}
    error, cause = original_error(raw.get("Error", "Unknown"), raw.get("Cause", ""))
    progress = state.get("progress") or {}
    return {
        "execution": event["execution"],
        "error": error,
        "cause": cause,
        "reported_error": raw.get("Error"),
        "failed_at": at,
        "last_checkpoint_step": progress.get("step"),
        "last_progress": progress or None,
        "resume": "Start a new execution with the same input: it continues from the last checkpoint.",
    }
