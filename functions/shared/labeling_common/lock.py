"""One execution per output path: a lock object created with a conditional write.

`working/lock.json` names the execution that owns the run. Creating it uses `If-None-Match: *`, so two
executions racing for the same output path cannot both win. A lock whose owner is no longer running (it
failed, was stopped or timed out) is taken over with `If-Match` on the lock's ETag: that is how a new
execution resumes a run. ExportFinal and RecordFailure release it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from botocore.exceptions import ClientError

from . import layout, s3io
from .aws import client
from .errors import WorkflowLocked

FIELD = "$.OutputConfig.S3OutputPath"


def _body(execution_arn: str, at: str) -> bytes:
    return json.dumps({"execution_arn": execution_arn, "acquired_at": at}).encode()


def acquire(output_uri: str, execution_arn: str, at: str, is_running: Callable[[str], bool]) -> None:
    loc = s3io.S3Uri.parse(layout.lock(output_uri))
    s3 = client("s3")
    try:
        s3.put_object(Bucket=loc.bucket, Key=loc.key, Body=_body(execution_arn, at), IfNoneMatch="*")
        return
    except ClientError as error:
        if not s3io.is_condition_failed(error):
            raise
    current = s3.get_object(Bucket=loc.bucket, Key=loc.key)
    holder = json.loads(current["Body"].read())
    if holder["execution_arn"] == execution_arn:
        return  # a retry of our own acquisition
    if is_running(holder["execution_arn"]):
        raise WorkflowLocked(
            f"execution {holder['execution_arn']} has been running on this output path since "
            f"{holder['acquired_at']}; wait for it, stop it, or use another S3OutputPath",
            field=FIELD,
        )
    try:
        s3.put_object(Bucket=loc.bucket, Key=loc.key, Body=_body(execution_arn, at), IfMatch=current["ETag"])
    except ClientError as error:
        if s3io.is_condition_failed(error):
            raise WorkflowLocked("another execution took over this output path a moment ago", field=FIELD) from None
        raise


def release(output_uri: str, execution_arn: str) -> None:
    """Delete the lock if this execution holds it. The delete is conditional on the ETag that was read
    (If-Match): a lock another execution took over in between — after this one was stopped, say — is left
    alone, never deleted from under its new holder."""
    loc = s3io.S3Uri.parse(layout.lock(output_uri))
    s3 = client("s3")
    try:
        current = s3.get_object(Bucket=loc.bucket, Key=loc.key)
    except ClientError as error:
        if s3io.is_not_found(error):
            return
        raise
    if json.loads(current["Body"].read())["execution_arn"] != execution_arn:
        return
    try:
        s3.delete_object(Bucket=loc.bucket, Key=loc.key, IfMatch=current["ETag"])
    except ClientError as error:
        if not (s3io.is_condition_failed(error) or s3io.is_not_found(error)):
            raise


def execution_is_running(execution_arn: str) -> bool:
    try:
        return client("stepfunctions").describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
            return False
        raise
