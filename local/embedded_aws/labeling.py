"""Ground Truth labeling jobs (CreateLabelingJob / DescribeLabelingJob / ListLabelingJobs), answered by
the simulated workforce of workforce.py configured under the launcher config key "workforce".

moto 5.2.5 has no labeling jobs at all; they live here, one store per moto SageMaker backend
(attribute `_embedded_labeling_jobs` set on the backend instance), and the API actions are added to
moto's SageMakerResponse by sagemaker.install().

A job reads InputConfig.DataSource.S3DataSource.ManifestS3Uri and LabelCategoryConfigS3Uri, labels
every manifest line whose `key_field` value has an answer, and writes the output manifest to
<OutputConfig.S3OutputPath>/<LabelingJobName>/manifests/output/output.manifest. Lines without an answer
are left out and counted in LabelCounters.FailedNonRetryableError; the job still Completes.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from . import sagemaker_jobs as jobs
from .state import STATE
from .workforce import SimulatedWorkforce, label_categories, label_manifest

LOG = logging.getLogger(__name__)


class LabelingJob:
    def __init__(self, request: dict[str, Any], arn: str):
        self.request = copy.deepcopy(request)
        self.name = request["LabelingJobName"]
        self.arn = arn
        now = datetime.now(UTC)
        self.creation_time = self.last_modified_time = now
        self.status = "InProgress"
        self.failure_reason: str | None = None
        self.counters = {
            "TotalLabeled": 0,
            "HumanLabeled": 0,
            "MachineLabeled": 0,
            "FailedNonRetryableError": 0,
            "Unlabeled": 0,
        }
        self.output_uri: str | None = None

    def describe(self) -> dict[str, Any]:
        r = self.request
        out: dict[str, Any] = {
            "LabelingJobStatus": self.status,
            "LabelCounters": dict(self.counters),
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "JobReferenceCode": self.name,
            "LabelingJobName": self.name,
            "LabelingJobArn": self.arn,
            "LabelAttributeName": r.get("LabelAttributeName"),
            "InputConfig": r.get("InputConfig"),
            "OutputConfig": r.get("OutputConfig"),
            "RoleArn": r.get("RoleArn"),
            "LabelCategoryConfigS3Uri": r.get("LabelCategoryConfigS3Uri"),
            "StoppingConditions": r.get("StoppingConditions"),
            "LabelingJobAlgorithmsConfig": r.get("LabelingJobAlgorithmsConfig"),
            "HumanTaskConfig": r.get("HumanTaskConfig"),
            "Tags": r.get("Tags"),
        }
        if self.failure_reason:
            out["FailureReason"] = self.failure_reason
        if self.output_uri:
            out["LabelingJobOutput"] = {"OutputDatasetS3Uri": self.output_uri}
        return {k: v for k, v in out.items() if v is not None}

    def summary(self) -> dict[str, Any]:
        d = self.describe()
        keys = (
            "LabelingJobName",
            "LabelingJobArn",
            "CreationTime",
            "LastModifiedTime",
            "LabelingJobStatus",
            "LabelCounters",
            "FailureReason",
            "LabelingJobOutput",
            "InputConfig",
        )
        out = {k: d[k] for k in keys if k in d}
        out["WorkteamArn"] = (self.request.get("HumanTaskConfig") or {}).get("WorkteamArn", "")
        out["PreHumanTaskLambdaArn"] = (self.request.get("HumanTaskConfig") or {}).get("PreHumanTaskLambdaArn", "")
        return out


def store(backend: Any) -> dict[str, LabelingJob]:
    jobs_by_name = getattr(backend, "_embedded_labeling_jobs", None)
    if jobs_by_name is None:
        jobs_by_name = {}
        backend._embedded_labeling_jobs = jobs_by_name
    return jobs_by_name


def run_labeling_job(job: LabelingJob) -> None:
    started = time.monotonic()
    output_uri: str | None = None
    try:
        workforce_cfg = STATE.config().get("workforce")
        if not workforce_cfg:
            raise jobs.JobFailure(
                "ClientError: no simulated workforce in local mode: set 'workforce' (answers_file, key_field, "
                "worker_accuracy, workers_per_item, seed) in the embedded AWS config"
            )
        workforce = SimulatedWorkforce.from_config(workforce_cfg)
        r = job.request
        manifest_uri = r["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
        categories = json.loads(jobs.read_uri(r["LabelCategoryConfigS3Uri"]))
        class_names = label_categories(categories)
        lines = jobs.read_uri(manifest_uri).decode("utf-8").split("\n")
        result = label_manifest(lines, workforce, class_names, r["LabelAttributeName"], job.name)
        output_uri = jobs.join_uri(
            r["OutputConfig"]["S3OutputPath"], job.name, "manifests", "output", "output.manifest"
        )
        jobs.write_uri(output_uri, "".join(line + "\n" for line in result.output_lines).encode("utf-8"))
        job.counters.update(
            TotalLabeled=result.labeled, HumanLabeled=result.labeled, FailedNonRetryableError=result.failed
        )
        status, failure = "Completed", None
    except Exception as exc:  # noqa: BLE001
        status = "Failed"
        failure = str(exc) if isinstance(exc, jobs.JobFailure) else f"ClientError: {exc}"
        failure = failure[: jobs.FAILURE_REASON_MAX]
        if not isinstance(exc, jobs.JobFailure):
            LOG.error("labeling job %s: %s", job.name, traceback.format_exc())
    jobs._record_job(
        "labeling",
        job.name,
        status,
        started,
        None,
        failure,
        labeled=job.counters["TotalLabeled"],
        failed_items=job.counters["FailedNonRetryableError"],
    )
    job.last_modified_time = datetime.now(UTC)
    job.failure_reason = failure
    if status == "Completed":
        job.output_uri = output_uri
    job.status = status  # last: Describe (and .sync) see a finished job only once everything is set


def start(job: LabelingJob) -> None:
    threading.Thread(target=run_labeling_job, args=(job,), name=f"labeling-{job.name}", daemon=True).start()
