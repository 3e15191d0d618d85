"""The run's checkpoint: `<output>working/checkpoint.json`, rewritten after every step that changes progress.

It is the commit point of the run. The working manifest versions it points at are never rewritten, so a
crash between writing manifest N+1 and the checkpoint loses nothing: the retry writes the same N+1 again.
Besides the current progress it keeps the history the final report needs (one entry per human batch and per
round: small, bounded by the number of rounds).
"""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.exceptions import ClientError

from . import layout, s3io
from .errors import WorkflowLocked


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def load(output_uri: str) -> dict | None:
    return _load_with_etag(output_uri)[0]


def _load_with_etag(output_uri: str) -> tuple[dict | None, str | None]:
    try:
        return s3io.read_json_with_etag(layout.checkpoint(output_uri))
    except ClientError as error:
        if s3io.is_not_found(error):
            return None, None
        raise


def save(
    config: dict,
    progress: dict,
    *,
    history_entry: dict | None = None,
    identity: dict | None = None,
    attempt_owner: str | None = None,
) -> dict:
    """Write progress (and append one history entry) to the checkpoint; return the document written.
    attempt_owner: the execution the current attempt number belongs to (set by Bootstrap)."""
    output_uri = config["output_uri"]
    document, etag = _load_with_etag(output_uri)
    document = document or {"identity": identity or {}, "created_at": now(), "history": []}
    history = [entry for entry in document["history"] if not _same_step(entry, history_entry)]
    if history_entry is not None:
        history.append(history_entry)
    check_fence(document, progress)
    document.update(progress=progress, history=history, updated_at=now())
    if attempt_owner is not None:
        document["attempt_owner"] = attempt_owner
    # Fenced: written only over the version read above (If-Match), or only if none exists (If-None-Match).
    # A step of a stopped execution that commits late, after another execution took the run over and
    # committed, fails instead of overwriting its successor's progress.
    try:
        s3io.write_json(
            layout.checkpoint(output_uri),
            document,
            encryption=s3io.encryption_args(config.get("kms_key_id")),
            condition={"IfMatch": etag} if etag else {"IfNoneMatch": "*"},
        )
    except ClientError as error:
        if s3io.is_condition_failed(error):
            raise WorkflowLocked(
                "the run's checkpoint changed while this step ran: another execution has taken over this "
                "output path; this step's result was not committed",
                field="$.OutputConfig.S3OutputPath",
            ) from None
        raise
    return document


def check_fence(document: dict, progress: dict) -> None:
    """The attempt number is the run's fencing token: Bootstrap of every execution that takes a run over
    commits attempt N + 1 before anything else, so a step still carrying attempt N — of an execution that
    was stopped, timed out or lost the lock — can no longer commit, even if it read the checkpoint after
    the takeover (where If-Match alone would let it through)."""
    held = (document.get("progress") or {}).get("attempt")
    if held is not None and progress.get("attempt") is not None and progress["attempt"] < held:
        raise WorkflowLocked(
            f"this step belongs to attempt {progress['attempt']} of the run, but attempt {held} (another "
            "execution) has taken over this output path; this step's result was not committed",
            field="$.OutputConfig.S3OutputPath",
        )


def _same_step(entry: dict, new: dict | None) -> bool:
    """A retried step replaces its own history entry instead of adding a second one."""
    return new is not None and entry.get("kind") == new.get("kind") and entry.get("step") == new.get("step")
