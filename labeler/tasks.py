"""Callback labeling tasks, from a labeling tool's side.

A task is `batches/<job>/task.json` under a run's output path (schemas/labeling-task.schema.json). Answers
are validated exactly as the workflow's MergeHumanLabels will validate them — same schemas, same checks —
before anything is uploaded or sent, so a bad answer file is refused here with the row that is wrong, and
the task stays open.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from labeling_common import schemas
from labeling_common.errors import InvalidLabeledBatch
from labeling_common.labels import LabelCategories
from labeling_common.manifest import RECORD_ID_KEY, LineChecker, label_metadata, metadata_key
from labeling_common.s3io import S3Uri, dumps_line, is_condition_failed, is_not_found


class TaskError(Exception):
    """A task cannot be used or answered as asked; the message says why and where."""


@dataclass(frozen=True)
class Task:
    uri: str
    document: dict

    @property
    def job_name(self) -> str:
        return self.document["JobName"]

    @property
    def attribute(self) -> str:
        return self.document["LabelAttributeName"]

    @property
    def labels(self) -> list[str]:
        return self.document["Labels"]


def _get(s3: Any, uri: str) -> bytes:
    loc = S3Uri.parse(uri)
    return s3.get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read()


def _exists(s3: Any, uri: str) -> bool:
    loc = S3Uri.parse(uri)
    try:
        s3.head_object(Bucket=loc.bucket, Key=loc.key)
    except ClientError as error:
        if is_not_found(error):
            return False
        raise
    return True


def load_task(s3: Any, task_uri: str) -> Task:
    try:
        document = json.loads(_get(s3, task_uri))
    except ClientError as error:
        raise TaskError(f"cannot read {task_uri}: {error.response['Error'].get('Code')}") from None
    found = schemas.find_error(document, "labeling-task.schema.json")
    if found is not None:
        raise TaskError(f"{task_uri} is not a labeling task: {found[0]}: {found[1]}")
    return Task(task_uri, document)


def find_tasks(s3: Any, sfn: Any, location: str, *, include_answered: bool = False) -> list[Task]:
    """Tasks under an S3 prefix (a bucket, a run's output path...) whose execution still waits for them."""
    loc = S3Uri.parse(location)
    if loc.key and not loc.key.endswith("/"):
        loc = S3Uri(loc.bucket, loc.key + "/")  # runs/run-1 must not match runs/run-10/
    tasks = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=loc.bucket, Prefix=loc.key):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/task.json") and "/batches/" in f"/{item['Key']}":
                task = load_task(s3, f"s3://{loc.bucket}/{item['Key']}")
                if include_answered or is_pending(s3, sfn, task):
                    tasks.append(task)
    return sorted(tasks, key=lambda t: t.document["CreatedAt"])


def is_pending(s3: Any, sfn: Any, task: Task) -> bool:
    """The execution still waits for this task: it runs and the task has no answer yet — or an answer was
    uploaded but SendTaskSuccess never reached the workflow (the token still takes a heartbeat), so the
    same answers can be submitted again."""
    if _exists(s3, task.document["AnswerS3Uri"]):
        try:
            sfn.send_task_heartbeat(taskToken=task.document["TaskToken"])
        except ClientError:
            return False  # completed (the usual case), timed out, or its execution stopped
        return True
    try:
        status = sfn.describe_execution(executionArn=task.document["ExecutionArn"])["status"]
    except ClientError:
        return False
    return status == "RUNNING"


def json_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of JSON Lines text, split on "\n" only: str.splitlines() would also split inside
    a JSON string at U+2028, U+0085 or a form feed, which JSON allows unescaped."""
    for line_no, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            yield line_no, line


def batch_records(s3: Any, task: Task) -> list[dict]:
    """The records to label (a batch is at most one labeling job: small enough to hold)."""
    text = _get(s3, task.document["BatchManifestS3Uri"]).decode("utf-8")
    return [json.loads(line) for _, line in json_lines(text)]


def categories(s3: Any, task: Task) -> LabelCategories:
    return LabelCategories.from_config(json.loads(_get(s3, task.document["LabelCategoryConfigS3Uri"])))


def item_text(record: dict) -> str:
    return record.get("source", record.get("source-ref", ""))


def export_rows(records: Iterable[dict]) -> Iterator[dict]:
    """One row per record for an external tool: the record id, the text, an empty label column."""
    for record in records:
        yield {RECORD_ID_KEY: record[RECORD_ID_KEY], "source": item_text(record), "label": ""}


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (CSV injection): a leading ' where the
    text starts like a formula. Only the exported text is touched; answers are matched by record id."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_csv(records: Iterable[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[RECORD_ID_KEY, "source", "label"], lineterminator="\n")
    writer.writeheader()
    writer.writerows({**row, "source": spreadsheet_safe(row["source"])} for row in export_rows(records))
    return buffer.getvalue()


def read_answer_rows(text: str, fmt: str) -> list[tuple[int, dict]]:
    """(line number, row) from a CSV (header: al:record-id,label[,confidence]; other columns ignored, empty
    labels skipped) or JSON Lines ({"al:record-id", "label"} or full Ground Truth lines)."""
    rows: list[tuple[int, dict]] = []
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or RECORD_ID_KEY not in reader.fieldnames or "label" not in reader.fieldnames:
            raise TaskError(f"the CSV header must name the columns {RECORD_ID_KEY!r} and 'label'")
        for row in reader:
            if (row.get("label") or "").strip():
                rows.append((reader.line_num, row))
        return rows
    for line_no, line in json_lines(text):
        try:
            rows.append((line_no, json.loads(line)))
        except json.JSONDecodeError as error:
            raise TaskError(f"line {line_no}: not valid JSON ({error})") from None
    return rows


def _record_id(value: Any) -> int | None:
    """A record id as sent: a JSON integer, or a text of digits (a CSV cell). 3.9, true or "3.0" are not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def _confidence(value: Any, where: str) -> float:
    """An answer's confidence: absent or empty means 1.0; otherwise a finite number within 0..1."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 1.0
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise TaskError(f"{where}: confidence must be a number within 0..1, got {value!r}")
    return number


def build_answers(task: Task, cats: LabelCategories, batch: list[dict], rows: Iterable[tuple[int, dict]]) -> list[dict]:
    """Validated answer lines in Ground Truth output format. Every record id must belong to the batch, at
    most once; every label must be a class of the label config (by name or index)."""
    sent = {record[RECORD_ID_KEY] for record in batch}
    attribute = task.attribute
    meta = metadata_key(attribute)
    checker = LineChecker(attribute, cats, InvalidLabeledBatch, mode="answer")
    answers: list[dict] = []
    seen: set[int] = set()
    for line_no, row in rows:
        where = f"line {line_no}"
        raw_id = row.get(RECORD_ID_KEY)
        record_id = _record_id(raw_id)
        if record_id is None:
            raise TaskError(f"{where}: {RECORD_ID_KEY} must be an integer, got {raw_id!r}")
        if record_id not in sent:
            raise TaskError(f"{where}: record {record_id} is not in this task's batch")
        if record_id in seen:
            raise TaskError(f"{where}: record {record_id} is answered twice")
        seen.add(record_id)
        if attribute in row and meta in row:  # already a Ground Truth line
            line = {RECORD_ID_KEY: record_id, attribute: row[attribute], meta: row[meta]}
        else:
            value = row.get("label")
            label = cats.index_of_answer(value)
            if label is None:
                raise TaskError(f"{where}: label {value!r} is not one of {cats.names}")
            confidence = _confidence(row.get("confidence"), where)
            line = {
                RECORD_ID_KEY: record_id,
                attribute: label,
                meta: label_metadata(cats.names[label], confidence=confidence, human=True, job_name=task.job_name),
            }
        try:
            checker.check(line, line_no, "answers")
        except InvalidLabeledBatch as error:
            raise TaskError(str(error)) from None
        answers.append(line)
    return answers


def submit(s3: Any, sfn: Any, task: Task, answers: list[dict]) -> dict:
    """Upload the labeled manifest to the task's AnswerS3Uri, then complete the task with its URI. The token
    is checked first (a heartbeat), so answers to a task that expired or was already answered are never
    uploaded. An empty answer set is refused: the workflow would take it for a workforce that cannot label
    and end the run (no_progress); `fail` is the way to give a batch up."""
    if not answers:
        raise TaskError(f"no answers for {task.job_name}: nothing was sent and the task stays open")
    try:
        sfn.send_task_heartbeat(taskToken=task.document["TaskToken"])
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        raise TaskError(
            f"the workflow no longer waits for {task.job_name} ({code}): it timed out, was answered "
            "or the execution stopped; nothing was uploaded"
        ) from None
    loc = S3Uri.parse(task.document["AnswerS3Uri"])
    body = b"".join(dumps_line(line) for line in answers)
    try:  # write-once: of two people submitting one batch, exactly one uploads
        s3.put_object(Bucket=loc.bucket, Key=loc.key, Body=body, ContentType="application/jsonlines", IfNoneMatch="*")
    except ClientError as error:
        if not is_condition_failed(error):
            raise
        if _labels(_get(s3, task.document["AnswerS3Uri"]), task.attribute) != _labels(body, task.attribute):
            raise TaskError(
                f"{task.job_name} was answered by someone else a moment ago: your answers were not sent, "
                "and nothing changed"
            ) from None
        # The same answers are already there: an earlier submit uploaded them, then could not complete the
        # task. Completing it now is what that submit should have done.
    output = {"JobName": task.job_name, "LabeledManifestS3Uri": task.document["AnswerS3Uri"]}
    schemas.check(output, "labeled-batch.schema.json", InvalidLabeledBatch)
    try:
        sfn.send_task_success(taskToken=task.document["TaskToken"], output=json.dumps(output))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        raise TaskError(
            f"the answers are in {task.document['AnswerS3Uri']}, but the workflow no longer waits for "
            f"{task.job_name} ({code}): it was completed by someone else, timed out or stopped"
        ) from None
    return output


def _labels(body: bytes, attribute: str) -> list[tuple[int, Any]]:
    """What an answer file says, without its timestamps: (record id, label) per line."""
    lines = (json.loads(text) for _, text in json_lines(body.decode()))
    return [(line[RECORD_ID_KEY], line.get(attribute)) for line in lines]


def fail(sfn: Any, task: Task, error: str, cause: str) -> None:
    sfn.send_task_failure(taskToken=task.document["TaskToken"], error=error[:256], cause=cause[:32768])


def heartbeat(sfn: Any, task: Task) -> None:
    sfn.send_task_heartbeat(taskToken=task.document["TaskToken"])
