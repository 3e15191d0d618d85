"""Streaming JSON Lines over S3 with bounded memory.

Reading streams `get_object` in 1 MiB chunks and yields one line at a time. Writing buffers one part and
switches to a multipart upload once the buffer passes 8 MiB, so memory stays flat whatever the object size.
An object only appears when the writer closes cleanly (single PUT or CompleteMultipartUpload); an exception
inside the `with` block aborts the upload, so nothing is ever half-written. No S3 Select (closed to new
customers), no whole objects in memory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .aws import client
from .errors import InvalidManifest

READ_CHUNK_BYTES = 1024 * 1024
PART_BYTES = 8 * 1024 * 1024  # S3's minimum part size is 5 MiB
INTERMEDIATE_TAG = "intermediate=true"
"""Tag of round files that can be rebuilt and are needed only within their round (training channels,
transform input): the bucket's lifecycle rule expires them."""


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        if not uri.startswith("s3://"):
            raise ValueError(f"not an s3:// URI: {uri!r}")
        bucket, _, key = uri[5:].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {uri!r}")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def dumps_line(record: Any) -> bytes:
    """Compact, UTF-8 JSON for one manifest line (no ASCII escaping, so text stays readable)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def is_condition_failed(error: ClientError) -> bool:
    """A conditional request (If-Match / If-None-Match) lost: the object is not the version it expected."""
    return error.response.get("Error", {}).get("Code") in {"PreconditionFailed", "ConditionalRequestConflict"}


def is_not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


def exists(uri: str) -> bool:
    loc = S3Uri.parse(uri)
    try:
        client("s3").head_object(Bucket=loc.bucket, Key=loc.key)
    except ClientError as error:
        if is_not_found(error):
            return False
        raise
    return True


def etag(uri: str) -> str:
    """The object's ETag: what identifies its content (a changed object at the same URI has another)."""
    loc = S3Uri.parse(uri)
    return client("s3").head_object(Bucket=loc.bucket, Key=loc.key)["ETag"]


def iter_raw_lines(uri: str, *, if_match: str | None = None) -> Iterator[tuple[int, bytes]]:
    """Yield (1-based line number, line bytes without the line ending) for every non-blank line.
    if_match: read only this version of the object (an ETag); a replaced object fails with PreconditionFailed."""
    loc = S3Uri.parse(uri)
    condition = {"IfMatch": if_match} if if_match else {}
    body = client("s3").get_object(Bucket=loc.bucket, Key=loc.key, **condition)["Body"]
    line_no = 0
    pending = b""
    try:
        while chunk := body.read(READ_CHUNK_BYTES):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                line_no += 1
                raw = raw.rstrip(b"\r")
                if raw.strip():
                    yield line_no, raw
        if pending.strip():
            yield line_no + 1, pending.rstrip(b"\r")
    finally:
        body.close()


def _finite_number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: Python reads it as inf, which strict JSON cannot write back
        raise ValueError(f"the number {text} is out of range")
    return value


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON (strict parsers refuse it)")


def parse_line(raw: bytes) -> Any:
    """One JSON value as strict JSON: NaN, Infinity and numbers out of float range are refused (they could
    not be written back as JSON), and so are lone surrogate escapes such as "\\ud800" (not Unicode: they
    could not be written back as UTF-8). Raises ValueError (or UnicodeDecodeError) saying what is wrong."""
    value = json.loads(raw, parse_float=_finite_number, parse_constant=_no_constant)
    if b"\\ud" in raw.lower():  # only a \uD800-\uDFFF escape can smuggle a surrogate into valid UTF-8
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("a text holds a lone surrogate escape (\\ud800-\\udfff): not valid Unicode") from None
    return value


def iter_json_lines(uri: str, *, what: str = "manifest", if_match: str | None = None) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for every line; a line that is not a JSON object raises InvalidManifest."""
    for line_no, raw in iter_raw_lines(uri, if_match=if_match):
        try:
            record = parse_line(raw)
        except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors too
            raise InvalidManifest(f"{what} {uri}: not valid JSON ({error})", field=f"line {line_no}") from None
        if not isinstance(record, dict):
            raise InvalidManifest(f"{what} {uri}: a line must be a JSON object", field=f"line {line_no}")
        yield line_no, record


def read_json(uri: str, *, if_match: str | None = None) -> Any:
    loc = S3Uri.parse(uri)
    condition = {"IfMatch": if_match} if if_match else {}
    body = client("s3").get_object(Bucket=loc.bucket, Key=loc.key, **condition)["Body"]
    with body:
        return json.loads(body.read())


def read_json_with_etag(uri: str) -> tuple[Any, str]:
    """A JSON object and the ETag of the version read (for a later conditional write over it)."""
    loc = S3Uri.parse(uri)
    response = client("s3").get_object(Bucket=loc.bucket, Key=loc.key)
    with response["Body"] as body:
        return json.loads(body.read()), response["ETag"]


def write_lines(uri: str, lines: Iterable[dict], encryption: dict | None = None) -> int:
    """Write JSON Lines (streamed, multipart beyond one part); returns how many were written."""
    with JsonLinesWriter(uri, encryption=encryption) as writer:
        for line in lines:
            writer.write(line)
    return writer.lines


def write_json(uri: str, value: Any, *, encryption: dict | None = None, condition: dict | None = None) -> None:
    """condition: {"IfMatch": etag} or {"IfNoneMatch": "*"}, a conditional write (PreconditionFailed if not met)."""
    text = json.dumps(value, ensure_ascii=False, indent=1)
    write_text(uri, text, "application/json", encryption=encryption, condition=condition)


def write_text(
    uri: str, text: str, content_type: str, *, encryption: dict | None = None, condition: dict | None = None
) -> None:
    loc = S3Uri.parse(uri)
    client("s3").put_object(
        Bucket=loc.bucket,
        Key=loc.key,
        Body=text.encode("utf-8"),
        ContentType=content_type,
        **(encryption or {}),
        **(condition or {}),
    )


def list_keys(prefix_uri: str) -> Iterator[str]:
    """Yield the s3:// URI of every object under a prefix, in key order."""
    loc = S3Uri.parse(prefix_uri)
    paginator = client("s3").get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=loc.bucket, Prefix=loc.key):
        for item in page.get("Contents", []):
            yield f"s3://{loc.bucket}/{item['Key']}"


def encryption_args(kms_key_id: str | None) -> dict:
    """PutObject/CreateMultipartUpload arguments for an optional customer KMS key (else bucket default SSE)."""
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {}


class JsonLinesWriter:
    """Write JSON Lines to one S3 object; use as a context manager. Counts the lines it wrote.
    With write_empty=False no object is created when no line was written; intermediate=True tags the object
    for the bucket's expiry rule."""

    def __init__(
        self,
        uri: str,
        *,
        encryption: dict | None = None,
        part_bytes: int = PART_BYTES,
        write_empty: bool = True,
        intermediate: bool = False,
    ):
        self.uri = uri
        self._write_empty = write_empty
        self._loc = S3Uri.parse(uri)
        self._extra = {"ContentType": "application/jsonlines", **(encryption or {})}
        if intermediate:
            self._extra["Tagging"] = INTERMEDIATE_TAG
        self._part_bytes = part_bytes
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict] = []
        self.lines = 0

    def __enter__(self) -> JsonLinesWriter:
        return self

    def write(self, record: Any) -> None:
        self._buffer += dumps_line(record)
        self.lines += 1
        if len(self._buffer) >= self._part_bytes:
            self._flush_part()

    def _flush_part(self) -> None:
        s3 = client("s3")
        if self._upload_id is None:
            self._upload_id = s3.create_multipart_upload(Bucket=self._loc.bucket, Key=self._loc.key, **self._extra)[
                "UploadId"
            ]
        number = len(self._parts) + 1
        etag = s3.upload_part(
            Bucket=self._loc.bucket,
            Key=self._loc.key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=bytes(self._buffer),
        )["ETag"]
        self._parts.append({"ETag": etag, "PartNumber": number})
        self._buffer.clear()

    def __exit__(self, exc_type, exc, tb) -> None:
        s3 = client("s3")
        if exc_type is not None:
            if self._upload_id is not None:
                s3.abort_multipart_upload(Bucket=self._loc.bucket, Key=self._loc.key, UploadId=self._upload_id)
            return
        if self._upload_id is None:
            if not self._buffer and not self._write_empty:
                return
            s3.put_object(Bucket=self._loc.bucket, Key=self._loc.key, Body=bytes(self._buffer), **self._extra)
        else:
            if self._buffer:
                self._flush_part()
            s3.complete_multipart_upload(
                Bucket=self._loc.bucket,
                Key=self._loc.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._buffer = bytearray()


def iter_records(uri: str) -> Iterator[dict]:
    """The objects of a JSON Lines file the workflow wrote itself (line numbers not needed)."""
    return (record for _, record in iter_json_lines(uri))


def read_text(uri: str, *, max_bytes: int = 1024 * 1024) -> str:
    """A small UTF-8 text object (the target of a manifest line's `source-ref`)."""
    loc = S3Uri.parse(uri)
    try:
        body = client("s3").get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
    except ClientError as error:
        if is_not_found(error):
            raise InvalidManifest(f"source-ref {uri}: no such object", field="source-ref") from None
        raise
    with body:
        data = body.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InvalidManifest(f"{uri} is larger than {max_bytes} bytes; text items must be small", field="source-ref")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidManifest(
            f"source-ref {uri}: not UTF-8 text (byte {error.start}: {data[error.start : error.start + 1]!r})",
            field="source-ref",
        ) from None


def load_validation_set(uri: str | None) -> dict[int, int]:
    """Record id -> label of the held-out validation set (small: a fraction of the human labels)."""
    if uri is None:
        return {}
    from .manifest import RECORD_ID_KEY

    return {line[RECORD_ID_KEY]: line["label"] for line in iter_records(uri)}
