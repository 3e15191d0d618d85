"""RecordFailure: what the failure record says."""

from __future__ import annotations


def failure_document(event: dict, at: str) -> dict:
    state = event["state"] if isinstance(event["state"], dict) else {}
    error = event.get("error") or {}
    progress = state.get("progress") or {}
    return {
        "execution": event["execution"],
        "error": error.get("Error", "Unknown"),
        "cause": error.get("Cause", ""),
        "failed_at": at,
        "last_checkpoint_step": progress.get("step"),
        "last_progress": progress or None,
        "resume": "Start a new execution with the same input: it continues from the last checkpoint.",
    }
