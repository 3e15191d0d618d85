"""Local SageMaker training and batch-transform jobs for bring-your-own-model containers.

A container image URI maps, by repository name, to a local directory with executables `train` and
`serve` (config key "images"; `<registry>/text-classifier:<tag>` -> images["text-classifier"]). They run
as `[container_python, <dir>/train]` / `[container_python, <dir>/serve]` with OPT_ML_DIR standing in for
/opt/ml and, for serve, SAGEMAKER_BIND_TO_PORT. Jobs run in a background thread and update moto's job
objects (status, FailureReason, ...) so DescribeTrainingJob/DescribeTransformJob and the .sync
integrations see real progress. See README.md for the exact contract and what is not supported.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import io
import json
import logging
import os
import re
import shutil
import socket
import struct
import sys
import tarfile
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import procs
from .state import STATE, utc_now_iso

LOG = logging.getLogger(__name__)


class JobFailure(Exception):
    """Ends a job as Failed with this FailureReason."""


FAILURE_REASON_MAX = 1024  # the API's limit on FailureReason


def _reason(exc: Exception) -> str:
    reason = str(exc) if isinstance(exc, JobFailure) else f"InternalServerError: {exc!r}"
    return reason[:FAILURE_REASON_MAX]


# --- S3 helpers --------------------------------------------------------------------------------------


def parse_s3_uri(uri: str) -> tuple[str, str]:
    m = re.fullmatch(r"s3://([^/]+)/?(.*)", uri or "")
    if not m:
        raise JobFailure(f"ClientError: not an S3 URI: {uri!r}")
    return m.group(1), m.group(2)


def list_objects(uri: str) -> list[tuple[str, str]]:
    """(key, path relative to the prefix's folder) of every object under an S3 prefix, sorted by key."""
    bucket, prefix = parse_s3_uri(uri)
    s3 = STATE.client("s3")
    # Paths are kept relative to the prefix's "folder": s3://b/data/ -> x.csv; s3://b/data/train -> train.csv.
    base = prefix[: prefix.rfind("/") + 1]
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.endswith("/"):
                continue
            out.append((key, key[len(base) :]))
    return sorted(out)


def read_object(bucket: str, key: str) -> bytes:
    try:
        return STATE.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as exc:  # noqa: BLE001
        raise JobFailure(f"ClientError: could not read s3://{bucket}/{key}: {exc}") from exc


def read_uri(uri: str) -> bytes:
    return read_object(*parse_s3_uri(uri))


def write_uri(uri: str, body: bytes, content_type: str | None = None) -> None:
    bucket, key = parse_s3_uri(uri)
    kwargs = {"ContentType": content_type} if content_type else {}
    try:
        STATE.client("s3").put_object(Bucket=bucket, Key=key, Body=body, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise JobFailure(f"ClientError: could not write {uri}: {exc}") from exc


def join_uri(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/")] + [p.strip("/") for p in parts])


def data_objects(s3_data_source: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(bucket, key, relative name) of every object an S3DataSource names (S3Prefix or ManifestFile)."""
    kind = s3_data_source.get("S3DataType", "S3Prefix")
    uri = s3_data_source.get("S3Uri", "")
    if kind == "S3Prefix":
        bucket, _ = parse_s3_uri(uri)
        objs = [(bucket, key, rel) for key, rel in list_objects(uri)]
        if not objs:
            raise JobFailure(f"ClientError: no S3 objects found under {uri}")
        return objs
    if kind == "ManifestFile":
        manifest = json.loads(read_uri(uri))
        if not manifest or not isinstance(manifest[0], dict) or "prefix" not in manifest[0]:
            raise JobFailure(f'ClientError: manifest {uri} must start with {{"prefix": "s3://..."}}')
        prefix = manifest[0]["prefix"]
        bucket, key_prefix = parse_s3_uri(prefix)
        return [(bucket, key_prefix + rel, rel) for rel in manifest[1:]]
    raise JobFailure(f"ClientError: S3DataType {kind} is not supported in local mode (use S3Prefix or ManifestFile)")


# --- containers ---------------------------------------------------------------------------------------


def repository_name(image: str) -> str:
    ref = (image or "").split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def container_environment() -> dict[str, str]:
    """This process's environment plus the config's container_environment (for train and serve)."""
    env = dict(os.environ)
    env.update({str(k): str(v) for k, v in (STATE.config().get("container_environment") or {}).items()})
    return env


@dataclass(frozen=True)
class LocalImage:
    """Where an image's `train` and `serve` live, and the interpreter that runs them."""

    directory: Path
    python: str


def local_image(image: str) -> LocalImage:
    """The config's "images" entry for the image's repository: a directory (run by container_python), or
    {"dir": ..., "python": ...} for an image whose Python differs (a framework image's stand-in)."""
    images = STATE.config().get("images") or {}
    repo = repository_name(image)
    entry = images.get(repo)
    if not entry:
        raise JobFailure(
            f"ClientError: image {image} is not available in local mode: map repository {repo!r} to a "
            "container directory in the embedded AWS config key 'images'"
        )
    path, python = (entry.get("dir"), entry.get("python")) if isinstance(entry, dict) else (entry, None)
    p = Path(str(path))
    if not p.is_dir():
        raise JobFailure(f"ClientError: image {image} is not available in local mode: {p} is not a directory")
    if python and not Path(python).is_file():
        raise JobFailure(
            f"ClientError: image {image} is not available in local mode: its interpreter {python} is missing "
            "(make sagemaker-sklearn-image builds the scikit-learn image's)"
        )
    return LocalImage(p, str(python) if python else container_python())


def container_python() -> str:
    return STATE.config().get("container_python") or sys.executable


def _job_dir(kind: str, name: str) -> Path:
    d = STATE.dir("sagemaker", kind, name)
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


def _cleanup(job_dir: Path) -> None:
    if not STATE.config().get("keep_job_dirs"):
        shutil.rmtree(job_dir, ignore_errors=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _tar_gz_dir(src: Path) -> bytes:
    # gzip's fastest level: a script-mode model carries its code, vendored wheels and embedding model (~175 MB),
    # which level 9 (tarfile's default) shrinks by 3% more in three times as long (~12 s against ~4 s a job).
    # Not level 0 (0.5 s): the embedded S3 keeps every archive for the deployment's life, 64 MB more each, and
    # a clean clone's CI peaked at 9.4 GB of disk against 7.3 GB, to save ~3 s a training job (2026-12-07).
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for child in sorted(src.iterdir()):
            tar.add(child, arcname=child.name)
    return buf.getvalue()


def _extract_tar_gz(data: bytes, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        try:
            tar.extractall(dest, filter="data")
        except TypeError:  # Python without extraction filters
            tar.extractall(dest)  # noqa: S202


# A job's records (its log, jobs.jsonl) are written best effort: a job whose record cannot be written (a full
# disk) must still end, or its `.sync` task would wait for it until the run's own timeout.


def _record_job(
    kind: str, name: str, status: str, started: float, peak_mb: float | None, failure: str | None, **extra: Any
) -> None:
    record = {
        "time": utc_now_iso(),
        "kind": kind,
        "name": name,
        "status": status,
        "seconds": round(time.monotonic() - started, 3),
        "peak_mb": round(peak_mb, 1) if peak_mb is not None else None,
        "failure_reason": failure,
        **extra,
    }
    try:
        STATE.append_jsonl("jobs.jsonl", record)
    except OSError:
        LOG.exception("%s job %s: could not record it in jobs.jsonl", kind, name)


def _log_failure(log_path: Path | None, kind: str, name: str, reason: str) -> None:
    if log_path is None:
        return
    try:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"--- {kind} job {name} failed: {reason}\n")
    except OSError:
        LOG.exception("%s job %s: could not write its log %s", kind, name, log_path)


# --- training -------------------------------------------------------------------------------------------


def _transition(job: Any, status: str, message: str) -> None:
    now = _now()
    transitions = job.secondary_status_transitions
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = now
    transitions.append({"Status": status, "StartTime": now, "StatusMessage": message})
    job.secondary_status = status
    job.last_modified_time = now


def _final_metrics(job: Any, log_text: str) -> list[dict[str, Any]]:
    metrics = []
    for definition in (job.algorithm_specification or {}).get("MetricDefinitions") or []:
        try:
            matches = re.findall(definition["Regex"], log_text)
        except re.error:
            continue
        if matches:
            last = matches[-1]
            value = last[0] if isinstance(last, tuple) else last
            with contextlib.suppress(ValueError):
                metrics.append({"MetricName": definition["Name"], "Value": float(value), "Timestamp": _now()})
    return metrics


RECORDIO_MAGIC = 0xCED7230A  # MXNet RecordIO, SageMaker's RecordWrapperType "RecordIO"


def recordio_record(payload: bytes) -> bytes:
    """One RecordIO record: magic, length (continuation flag 0: a whole record), payload padded to 4 bytes."""
    if len(payload) >= 1 << 29:
        raise JobFailure("ClientError: a record of 512 MB or more cannot be framed in RecordIO")
    return struct.pack("<II", RECORDIO_MAGIC, len(payload)) + payload + b"\0" * (-len(payload) % 4)


def augmented_manifest_stream(source: dict[str, Any], channel: str) -> Iterator[bytes]:
    """The bytes Pipe mode streams for an AugmentedManifestFile channel with the RecordIO wrapper: for each
    manifest line, one record per attribute in AttributeNames order (a string as its UTF-8 text, any other
    value as its JSON). A line without one of the attributes fails the job, as it does on SageMaker."""
    names = source.get("AttributeNames") or []
    if not names:
        raise JobFailure(f"ClientError: channel {channel}: AugmentedManifestFile needs AttributeNames")
    bucket, key = parse_s3_uri(source.get("S3Uri", ""))
    body = STATE.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    for line_no, raw in enumerate(body.iter_lines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError as exc:
            raise JobFailure(f"ClientError: channel {channel}: line {line_no} of {key} is not JSON: {exc}") from exc
        for name in names:
            if not isinstance(line, dict) or name not in line:
                raise JobFailure(f"ClientError: channel {channel}: line {line_no} of {key} has no attribute {name!r}")
            value = line[name]
            yield recordio_record(value.encode("utf-8") if isinstance(value, str) else json.dumps(value).encode())


def _pipe_channel(channel: dict[str, Any], source: dict[str, Any], data_dir: Path) -> None:
    """Pipe mode: SageMaker streams the channel through the FIFO <channel>_0 (one per epoch). Here the same
    bytes are written to a regular file of that name before the container starts: a reader that reads the
    stream front to back, as Pipe mode demands, cannot tell the difference."""
    name = channel["ChannelName"]
    if source.get("S3DataType") != "AugmentedManifestFile" or channel.get("RecordWrapperType") != "RecordIO":
        raise JobFailure(
            f"ClientError: channel {name}: Pipe mode is supported in local mode for AugmentedManifestFile "
            "channels with the RecordIO wrapper only"
        )
    with open(data_dir / f"{name}_0", "wb") as fifo:
        for record in augmented_manifest_stream(source, name):
            fifo.write(record)


def _download_channels(job: Any, opt_ml: Path) -> dict[str, dict[str, str]]:
    default_mode = (job.algorithm_specification or {}).get("TrainingInputMode", "File")
    config = {}
    for channel in job.input_data_config or []:
        name = channel["ChannelName"]
        mode = channel.get("InputMode") or default_mode
        if mode not in ("File", "FastFile", "Pipe"):
            raise JobFailure(f"ClientError: channel {name}: input mode {mode} is not supported in local mode")
        source = (channel.get("DataSource") or {}).get("S3DataSource")
        if not source:
            raise JobFailure(f"ClientError: channel {name}: only S3DataSource is supported in local mode")
        entry = {
            "TrainingInputMode": mode,
            "S3DistributionType": source.get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
        }
        if channel.get("ContentType"):
            entry["ContentType"] = channel["ContentType"]
        config[name] = entry
        if mode == "Pipe":
            _pipe_channel(channel, source, opt_ml / "input" / "data")
            continue
        if source.get("S3DataType") == "AugmentedManifestFile":
            raise JobFailure(f"ClientError: channel {name}: AugmentedManifestFile is supported in Pipe mode only")
        target = opt_ml / "input" / "data" / name
        target.mkdir(parents=True, exist_ok=True)
        for bucket, key, rel in data_objects(source):
            dest = (target / rel).resolve()
            if target.resolve() not in dest.parents:
                raise JobFailure(f"ClientError: S3 key {key} escapes the channel directory")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(read_object(bucket, key))
    return config


def run_training_job(job: Any) -> None:
    name = job.training_job_name
    started = time.monotonic()
    job_dir: Path | None = None
    log_path: Path | None = None
    peak_mb: float | None = None
    try:  # from the first directory it creates: a job that cannot write still ends
        job_dir = _job_dir("training", name)
        opt_ml = job_dir / "opt_ml"
        log_path = STATE.path("logs", "sagemaker", "TrainingJobs", f"{name}.log")
        image = local_image(job.algorithm_specification.get("TrainingImage", ""))
        directory = image.directory
        for sub in ("input/config", "input/data", "model", "output/data", "code"):
            (opt_ml / sub).mkdir(parents=True, exist_ok=True)
        _transition(job, "Downloading", "Downloading input data")
        hps = {str(k): str(v) for k, v in (job.hyper_parameters or {}).items()}
        channels = _download_channels(job, opt_ml)
        resource = job.resource_config or {}
        config_dir = opt_ml / "input" / "config"
        (config_dir / "hyperparameters.json").write_text(json.dumps(hps))
        (config_dir / "inputdataconfig.json").write_text(json.dumps(channels))
        (config_dir / "resourceconfig.json").write_text(
            json.dumps(
                {
                    "current_host": "algo-1",
                    "hosts": ["algo-1"],
                    "network_interface_name": "eth0",
                    "current_instance_type": resource.get("InstanceType", "local"),
                    "current_group_name": "homogeneousCluster",
                    "instance_groups": [
                        {
                            "instance_group_name": "homogeneousCluster",
                            "hosts": ["algo-1"],
                            "instance_type": resource.get("InstanceType", "local"),
                        }
                    ],
                }
            )
        )
        env = container_environment()
        env.update(
            {
                "OPT_ML_DIR": str(opt_ml),
                "PYTHONUNBUFFERED": "1",
                "TRAINING_JOB_NAME": name,
                "TRAINING_JOB_ARN": job.arn,
                "SM_MODEL_DIR": str(opt_ml / "model"),
                "SM_INPUT_DIR": str(opt_ml / "input"),
                "SM_INPUT_CONFIG_DIR": str(config_dir),
                "SM_OUTPUT_DIR": str(opt_ml / "output"),
                "SM_OUTPUT_DATA_DIR": str(opt_ml / "output" / "data"),
                "SM_CHANNELS": json.dumps(sorted(channels)),
                "SM_HPS": json.dumps(hps),
                "SM_CURRENT_HOST": "algo-1",
                "SM_HOSTS": json.dumps(["algo-1"]),
            }
        )
        for ch in channels:
            env[f"SM_CHANNEL_{ch.upper()}"] = str(opt_ml / "input" / "data" / ch)
        max_runtime = float((job.stopping_condition or {}).get("MaxRuntimeInSeconds") or 86400)
        _transition(job, "Training", "Training image download completed. Training in progress.")
        with open(log_path, "ab") as log:
            log.write(f"--- training job {name} started {utc_now_iso()} ({directory}/train)\n".encode())
            log.flush()
            result = procs.run(
                procs.measured([image.python, str(directory / "train")], job_dir / "peak_kb"),
                timeout=max_runtime,
                grace=float(STATE.config().get("stop_grace_seconds") or 0),
                cwd=str(directory),
                env=env,
                stdout=log,
                stderr=log,
            )
        peak_mb = procs.read_peak_mb(job_dir / "peak_kb")
        seconds = max(1, int(round(result.seconds)))
        job.training_time_in_seconds = job.billable_time_in_seconds = seconds
        log_text = log_path.read_text(encoding="utf-8", errors="replace")
        if result.timed_out:
            reason = f"Training job {name} exceeded MaxRuntimeInSeconds ({max_runtime:g} s) and was stopped"
            _transition(job, "MaxRuntimeExceeded", reason)
            raise JobFailure(reason)
        if result.returncode != 0:
            failure_file = opt_ml / "output" / "failure"
            reason = failure_file.read_text(encoding="utf-8", errors="replace").strip() if failure_file.exists() else ""
            raise JobFailure(
                f"AlgorithmError: {reason}"
                if reason
                else f"AlgorithmError: train exited with code {result.returncode} (see {log_path})"
            )
        _transition(job, "Uploading", "Uploading generated training model")
        output_path = (job.output_data_config or {}).get("S3OutputPath", "")
        model_uri = join_uri(output_path, name, "output", "model.tar.gz")
        write_uri(model_uri, _tar_gz_dir(opt_ml / "model"), "application/x-tar")
        if any((opt_ml / "output" / "data").iterdir()):
            write_uri(join_uri(output_path, name, "output", "output.tar.gz"), _tar_gz_dir(opt_ml / "output" / "data"))
        job.model_artifacts = {"S3ModelArtifacts": model_uri}
        metrics = _final_metrics(job, log_text)
        if metrics:
            job.final_metric_data_list = metrics
        _record_job("training", name, "Completed", started, peak_mb, None)  # before the status flips
        _transition(job, "Completed", "Training job completed")
        job.training_end_time = _now()
        job.training_job_status = "Completed"
    except Exception as exc:  # noqa: BLE001 - every error ends the job, like SageMaker
        reason = _reason(exc)
        if not isinstance(exc, JobFailure):
            LOG.error("training job %s: %s", name, traceback.format_exc())
        _log_failure(log_path, "training", name, reason)
        _record_job("training", name, "Failed", started, peak_mb, reason)
        if job.secondary_status != "MaxRuntimeExceeded":
            _transition(job, "Failed", reason)
        job.failure_reason = reason
        job.training_end_time = _now()
        job.training_job_status = "Failed"
    finally:
        if job_dir is not None:
            _cleanup(job_dir)


# --- batch transform ------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_SIMPLE_PATH = re.compile(r"\$((?:\.[A-Za-z_][\w-]*)+)")
_KEYS_PATH = re.compile(r"\$\[\s*((?:'[^']*'|\"[^\"]*\")(?:\s*,\s*(?:'[^']*'|\"[^\"]*\"))*)\s*\]")


def apply_json_filter(expr: str | None, value: Any, what: str) -> Any:
    """The JSONPath subset local mode supports: `$`, `$.a.b`, `$['a','b',...]` (one key -> its value)."""
    expr = (expr or "$").strip()
    if expr == "$":
        return value
    m = _SIMPLE_PATH.fullmatch(expr)
    if m:
        for part in m.group(1).split(".")[1:]:
            if not isinstance(value, dict) or part not in value:
                raise JobFailure(f"ClientError: {what} {expr} does not match record")
            value = value[part]
        return value
    m = _KEYS_PATH.fullmatch(expr)
    if m:
        keys = [k.strip()[1:-1] for k in re.findall(r"'[^']*'|\"[^\"]*\"", m.group(1))]
        if not isinstance(value, dict):
            raise JobFailure(f"ClientError: {what} {expr} needs JSON object records")
        if len(keys) == 1:
            if keys[0] not in value:
                raise JobFailure(f"ClientError: {what} {expr} does not match record")
            return value[keys[0]]
        return {k: value[k] for k in keys if k in value}
    raise JobFailure(f"ClientError: {what} {expr!r} is not supported in local mode (use $, $.a.b or $['a','b'])")


def _split_records(data: bytes, split_type: str) -> list[str]:
    text = data.decode("utf-8")
    if split_type in (None, "", "None"):
        return [text] if text.strip() else []
    if split_type != "Line":
        raise JobFailure(f"ClientError: SplitType {split_type} is not supported in local mode (use Line or None)")
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]


def _batches(records: list[str], strategy: str, max_bytes: int) -> list[list[int]]:
    """Record indexes per request: one per request (SingleRecord) or as many lines as fit (MultiRecord)."""
    if strategy != "MultiRecord":
        return [[i] for i in range(len(records))]
    batches: list[list[int]] = []
    current: list[int] = []
    size = 0
    for i, rec in enumerate(records):
        n = len(rec.encode("utf-8")) + 1
        if max_bytes and n > max_bytes:
            raise JobFailure(f"ClientError: record {i + 1} is larger than MaxPayloadInMB")
        if current and max_bytes and size + n > max_bytes:
            batches.append(current)
            current, size = [], 0
        current.append(i)
        size += n
    if current:
        batches.append(current)
    return batches


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


class _Server:
    def __init__(self, image: LocalImage, env: dict[str, str], port: int, log: Any, peak_file: Path):
        self.port = port
        self.peak_file = peak_file
        self.proc = procs.spawn(
            procs.measured([image.python, str(image.directory / "serve")], peak_file),
            cwd=str(image.directory),
            env=env,
            stdout=log,
            stderr=log,
        )
        self.peak_mb: float | None = None

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise JobFailure(f"ClientError: serve exited with code {self.proc.returncode} before answering /ping")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/ping")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise JobFailure(f"ClientError: serve did not answer GET /ping with 200 within {timeout:g} s")

    def stop(self) -> None:
        procs.stop(self.proc, grace=5.0)
        self.peak_mb = procs.read_peak_mb(self.peak_file)


def _invoke(conn: http.client.HTTPConnection, body: bytes, content_type: str, accept: str) -> str:
    headers = {"Content-Type": content_type, "Accept": accept}
    try:
        conn.request("POST", "/invocations", body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    except OSError as exc:
        raise JobFailure(f"ClientError: POST /invocations failed: {exc}") from exc
    if not 200 <= resp.status < 300:
        raise JobFailure(
            f"ClientError: POST /invocations returned HTTP {resp.status}: {data[:500].decode('utf-8', 'replace')}"
        )
    return data.decode("utf-8")


def _transform_object(job: Any, conn: http.client.HTTPConnection, data: bytes) -> bytes:
    tin = job.transform_input or {}
    tout = job.transform_output or {}
    dp = job.data_processing or {}
    if tin.get("CompressionType") == "Gzip":
        data = gzip.decompress(data)
    records = _split_records(data, tin.get("SplitType", "None"))
    content_type = tin.get("ContentType") or "application/octet-stream"
    accept = tout.get("Accept") or content_type
    input_filter = dp.get("InputFilter") or "$"
    output_filter = dp.get("OutputFilter") or "$"
    join = dp.get("JoinSource") or "None"
    parsed_inputs: list[Any] = [None] * len(records)
    sent: list[str] = []
    for i, rec in enumerate(records):
        if input_filter == "$":
            sent.append(rec)
        else:
            obj = _maybe_json(rec)
            parsed_inputs[i] = obj
            sent.append(json.dumps(apply_json_filter(input_filter, obj, "InputFilter")))
    strategy = job.batch_strategy or "MultiRecord"
    max_mb = job.max_payload_in_mb if job.max_payload_in_mb is not None else 6
    outputs: list[str] = []
    for batch in _batches(sent, strategy, int(max_mb) * 1024 * 1024):
        body = "".join(sent[i] + "\n" for i in batch).encode("utf-8")
        text = _invoke(conn, body, content_type, accept)
        if strategy == "MultiRecord":
            lines = [ln.rstrip("\r") for ln in text.split("\n")]
            while lines and not lines[-1].strip():
                lines.pop()
        else:
            lines = [text.rstrip("\r\n")]
        if len(lines) != len(batch):
            raise JobFailure(
                f"ClientError: the model returned {len(lines)} records for a request of {len(batch)} records"
            )
        outputs.extend(lines)
    results: list[str] = []
    for i, out_line in enumerate(outputs):
        if join == "Input":
            src = parsed_inputs[i] if parsed_inputs[i] is not None else _maybe_json(records[i])
            if isinstance(src, dict):
                value: Any = {**src, "SageMakerOutput": _maybe_json(out_line)}
            elif output_filter == "$":
                results.append(f"{records[i]},{out_line}")  # CSV join
                continue
            else:
                raise JobFailure("ClientError: JoinSource Input with an OutputFilter needs JSON object records")
        elif join in ("None", None):
            if output_filter == "$":
                results.append(out_line)
                continue
            value = _maybe_json(out_line)
        else:
            raise JobFailure(f"ClientError: JoinSource {join} is not supported")
        results.append(json.dumps(apply_json_filter(output_filter, value, "OutputFilter")))
    assemble = tout.get("AssembleWith") or "None"
    if assemble == "Line":
        text_out = "".join(r + "\n" for r in results)
    elif assemble == "None":
        text_out = "".join(results)
    else:
        raise JobFailure(f"ClientError: AssembleWith {assemble} is not supported")
    return text_out.encode("utf-8")


def run_transform_job(job: Any, model: Any) -> None:
    name = job.transform_job_name
    started = time.monotonic()
    job_dir: Path | None = None
    log_path: Path | None = None
    server: _Server | None = None
    n_objects = n_records = 0
    try:  # from the first directory it creates: a job that cannot write still ends
        job_dir = _job_dir("transform", name)
        opt_ml = job_dir / "opt_ml"
        log_path = STATE.path("logs", "sagemaker", "TransformJobs", f"{name}.log")
        container = model.primary_container or (model.containers[0] if model.containers else {})
        image = local_image(container.get("Image", ""))
        directory = image.directory
        (opt_ml / "model").mkdir(parents=True)
        if container.get("ModelDataUrl"):
            _extract_tar_gz(read_uri(container["ModelDataUrl"]), opt_ml / "model")
        source = ((job.transform_input or {}).get("DataSource") or {}).get("S3DataSource") or {}
        objects = data_objects(source)
        port = _free_port()
        env = container_environment()
        env.update({str(k): str(v) for k, v in (container.get("Environment") or {}).items()})
        env.update({str(k): str(v) for k, v in (job.environment or {}).items()})
        env.update(
            {
                "OPT_ML_DIR": str(opt_ml),
                "SAGEMAKER_BIND_TO_PORT": str(port),
                "PYTHONUNBUFFERED": "1",
                "SAGEMAKER_BATCH": "true",
                "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(job.max_payload_in_mb or 6),
                "SAGEMAKER_BATCH_STRATEGY": job.batch_strategy or "MultiRecord",
                "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": str(job.max_concurrent_transforms or 1),
            }
        )
        timeout = float((job.model_client_config or {}).get("InvocationsTimeoutInSeconds") or 600)
        with open(log_path, "ab") as log:
            log.write(f"--- transform job {name} started {utc_now_iso()} ({directory}/serve :{port})\n".encode())
            log.flush()
            server = _Server(image, env, port, log, job_dir / "peak_kb")
            server.wait_ready(float(STATE.config().get("serve_start_timeout_seconds") or 120))
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            try:
                out_path = (job.transform_output or {}).get("S3OutputPath", "")
                accept = (job.transform_output or {}).get("Accept")
                for bucket, key, rel in objects:
                    body = _transform_object(job, conn, read_object(bucket, key))
                    write_uri(join_uri(out_path, rel + ".out"), body, accept)
                    n_objects += 1
                    n_records += body.count(b"\n")
            finally:
                conn.close()
        status, reason = "Completed", None
    except Exception as exc:  # noqa: BLE001 - every error ends the job, like SageMaker
        status = "Failed"
        reason = _reason(exc)
        if not isinstance(exc, JobFailure):
            LOG.error("transform job %s: %s", name, traceback.format_exc())
        _log_failure(log_path, "transform", name, reason)
    finally:
        if server is not None:  # always stop the model server, even on failure
            server.stop()
        if job_dir is not None:
            _cleanup(job_dir)
    peak = server.peak_mb if server is not None else None
    _record_job("transform", name, status, started, peak, reason, objects=n_objects, records=n_records)
    job.transform_end_time = job.last_modified_time = _now()
    if reason:
        job.failure_reason = reason
    job.transform_job_status = status
