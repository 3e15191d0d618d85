"""Labeling backends: who labels a human batch and where the answers arrive — the named extension point.

The workflow asks people through one of these. The ASL's ChooseLabelingBackend routes to the task state of
the backend (LabelWithCallback, LabelWithGroundTruth); everything else the functions need to know about a
backend is here:
- which request fields it needs (ValidateInput refuses a request without them);
- where the answers of a batch land, so that a resumed run merges labels an earlier execution already got
  instead of asking people again (PrepareHumanBatch);
- how its task state's result names the labeled manifest (MergeHumanLabels).

To add a backend: one Backend here, its name in the schema's labelingBackend enum, one task state (and a
Choice branch) in asl/active_learning_loop.asl.json, and its IAM in terraform/iam.tf.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import schemas
from .errors import InvalidLabeledBatch

MANIFEST_KEY = "labeled_manifest_uri"  # $.labeling holding a manifest URI as is (Ground Truth, or adopted answers)


@dataclass(frozen=True)
class Backend:
    name: str
    required_request_fields: tuple[str, ...]
    answers_uri: Callable[[dict], str]  # batch (PrepareHumanBatch's output) -> where its answers land
    result_key: str  # the key its task state's ResultSelector puts under $.labeling
    read_result: Callable[[object, dict], str]  # (that result, batch) -> the labeled manifest's URI


def _callback_answer(answer: object, batch: dict) -> str:
    """The labeled manifest named by a callback answer (the SendTaskSuccess output), for this very batch."""
    where = "$.labeling.callback_answer"
    schemas.check(answer, "labeled-batch.schema.json", InvalidLabeledBatch, root=where)
    if answer["JobName"] != batch["job_name"]:
        raise InvalidLabeledBatch(
            f"answers job {answer['JobName']!r}, but this task is {batch['job_name']!r}", field=f"{where}.JobName"
        )
    return answer["LabeledManifestS3Uri"]


CALLBACK = Backend(
    name="callback",
    required_request_fields=(),
    answers_uri=lambda batch: batch["answer_uri"],
    result_key="callback_answer",
    read_result=_callback_answer,
)
GROUND_TRUTH = Backend(
    name="ground_truth",
    required_request_fields=("HumanTaskConfig",),
    answers_uri=lambda batch: f"{batch['output_uri']}{batch['job_name']}/manifests/output/output.manifest",
    result_key=MANIFEST_KEY,  # LabelingJobOutput.OutputDatasetS3Uri
    read_result=lambda uri, batch: uri,
)
BACKENDS = {backend.name: backend for backend in (CALLBACK, GROUND_TRUTH)}


def backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown labeling backend {name!r} (known: {', '.join(BACKENDS)})") from None


def labeled_manifest_uri(labeling: dict, batch: dict) -> str:
    """The labeled manifest of a batch from $.labeling: answers adopted on resume (any backend) come as a
    manifest URI; otherwise the backend whose result key is there reads its result."""
    if MANIFEST_KEY in labeling:
        return labeling[MANIFEST_KEY]
    for candidate in BACKENDS.values():
        if candidate.result_key in labeling:
            return candidate.read_result(labeling[candidate.result_key], batch)
    raise InvalidLabeledBatch(f"no labeling result among {sorted(labeling)}", field="$.labeling")
