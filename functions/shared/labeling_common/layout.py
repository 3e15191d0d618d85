"""Where everything lives under the execution's S3OutputPath, and what SageMaker jobs are called.

Job names: <deployment prefix>-<request prefix>-<run id>-<h step | r round-a attempt>, at most
10+1+29+1+8+1+4+3 = 57 characters for attempts below 100 (SageMaker allows 63).

All names are pure functions of the output path, the run id, a step/round number and the attempt, so a
retried step writes to, and asks for, exactly what its first try did. Everything a step writes before it
commits carries the attempt (one per execution of the run): a late write of a stopped execution lands beside
its successor's objects, never over them, and the checkpoint (fenced on the attempt) says which are current.
"""

from __future__ import annotations

import hashlib

MAX_JOB_NAME = 63


def run_id(output_uri: str, execution_name: str) -> str:
    """Eight hex characters naming one run (all executions that work on one output path's checkpoint)."""
    return hashlib.sha256(f"{output_uri}\n{execution_name}".encode()).hexdigest()[:8]


def working_manifest(output_uri: str, step: int, attempt: int) -> str:
    """Version `step` of the working manifest. Versions are never rewritten: a merge writes step + 1."""
    return f"{output_uri}working/manifest-{step:05d}-a{attempt}.jsonl"


def checkpoint(output_uri: str) -> str:
    return f"{output_uri}working/checkpoint.json"


def validation_set(output_uri: str, attempt: int, step: int | None = None) -> str:
    """The calibration set as CreateValidationSet drew it, or (step) as a human batch's picks grew it."""
    if step is None:
        return f"{output_uri}working/validation-a{attempt}.jsonl"
    return f"{output_uri}working/validation-{step:05d}-a{attempt}.jsonl"


def batch_prefix(output_uri: str, job_name: str) -> str:
    return f"{output_uri}batches/{job_name}/"


def round_prefix(output_uri: str, round_number: int, attempt: int) -> str:
    return f"{output_uri}rounds/round-{round_number:03d}-a{attempt}/"


def final_manifest(output_uri: str) -> str:
    return f"{output_uri}final_output.manifest"


def report(output_uri: str) -> str:
    return f"{output_uri}report.json"


def report_html(output_uri: str) -> str:
    return f"{output_uri}report.html"


def failure_record(output_uri: str, execution_name: str) -> str:
    return f"{output_uri}failures/{execution_name}.json"


def human_job_name(prefix: str, run: str, step: int) -> str:
    """Name of the labeling job for the batch whose merge will produce manifest version `step`."""
    return _bounded(f"{prefix}-{run}-h{step:04d}")


def round_job_name(prefix: str, run: str, round_number: int, attempt: int) -> str:
    """Name shared by the round's training job, model and transform job (as SageMaker allows). The attempt
    (one per execution of the run) keeps a resumed round from colliding with the jobs of the failed one."""
    return _bounded(f"{prefix}-{run}-r{round_number:03d}-a{attempt}")


def round_execution_name(run: str, attempt: int, round_number: int) -> str:
    return f"{run}-a{attempt}-round-{round_number:03d}"


def _bounded(name: str) -> str:
    if len(name) > MAX_JOB_NAME:  # prefixes are capped (request 29, deployment 10 characters) so this cannot happen
        raise ValueError(f"job name {name!r} is longer than {MAX_JOB_NAME} characters")
    return name


def lock(output_uri: str) -> str:
    return f"{output_uri}working/lock.json"
