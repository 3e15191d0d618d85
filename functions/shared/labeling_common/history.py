"""Reading a Step Functions execution history (pure: the caller fetches the events)."""

from __future__ import annotations

from collections.abc import Iterable

# History events that end a failed attempt of a state; the state they belong to is the failing state.
FAILURE_EVENTS = frozenset(
    {
        "TaskFailed",
        "TaskTimedOut",
        "TaskSubmitFailed",
        "TaskStartFailed",
        "LambdaFunctionFailed",
        "LambdaFunctionTimedOut",
        "LambdaFunctionScheduleFailed",
        "LambdaFunctionStartFailed",
    }
)
# The loop's failure path (RecordFailure and its Fail states): where every failure ends up, not where it began.
FAILURE_PATH = frozenset({"RecordFailure", "Failed", "FailedUnrecorded"})


def failing_state(events_newest_first: Iterable[dict]) -> str | None:
    """The state whose failure ended the execution: the last state entered before the newest failure event,
    the failure path left out. None when no task failed (a Fail state reached by routing, say)."""
    failed = False
    for event in events_newest_first:
        entered = (event.get("stateEnteredEventDetails") or {}).get("name")
        if failed and entered and entered not in FAILURE_PATH:
            return entered
        if event.get("type") in FAILURE_EVENTS:
            failed = True
    return None
