"""One labeling run on a deployment (local or real): upload a sample, start the execution as
`aws stepfunctions start-execution` would, answer callback tasks with the simulated workforce through the
labeling tool's own code path, show progress, then measure the result against the true labels."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labeler import request as labeling_request
from labeler import tasks as labeling_tasks
from labeling_common import settings
from labeling_common.history import failing_state

from .embedded_aws.workforce import SimulatedWorkforce
from .sample import KEY_FIELD, Sample

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
FINAL_SUBJECT_ENDINGS = (" finished", " failed", " was stopped", " timed out")  # NotifyRunEvents' end-of-run subjects
GROUND_TRUTH_TASK = {  # what a private-workforce Ground Truth job needs; the embedded AWS simulates the workers
    "WorkteamArn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/local-team",
    "UiConfig": {"UiTemplateS3Uri": "s3://{bucket}/inputs/instructions.template"},
    "PreHumanTaskLambdaArn": "arn:aws:lambda:us-east-1:432418664414:function:PRE-TextMultiClass",
    "TaskTitle": "Classify the news headline",
    "TaskDescription": "Choose the category that fits the headline best.",
    "NumberOfHumanWorkersPerDataObject": 1,
    "TaskTimeLimitInSeconds": 300,
    "AnnotationConsolidationConfig": {
        "AnnotationConsolidationLambdaArn": "arn:aws:lambda:us-east-1:432418664414:function:ACS-TextMultiClass"
    },
}


DEFAULTS = settings.defaults()  # the request schema's, as on AWS


def add_simulation_options(parser: argparse.ArgumentParser) -> None:
    """The options `make run` and `make bench` share that are not request settings: the data, the simulated
    workforce, the label noise and the time allowed."""
    parser.add_argument("--dataset", type=Path, help="a CSV of labeled text (default: the bundled UCI News sample)")
    parser.add_argument("--text-column", default="title")
    parser.add_argument("--label-column", default="category")
    parser.add_argument("--worker-accuracy", type=float, default=1.0, help="simulated workers' accuracy (default 1.0)")
    parser.add_argument("--workers-per-item", type=int, default=1, help="simulated workers per item, majority vote")
    parser.add_argument(
        "--label-noise",
        type=float,
        default=0.0,
        help="fraction of the labels people give (pre-labels and workers' answers) that is a random wrong class",
    )
    parser.add_argument("--timeout", type=int, default=3600, help="give up on a run after this many seconds")


@dataclass
class RunOptions:
    name: str
    backend: str = DEFAULTS["LabelingBackend"]
    strategy: str = DEFAULTS["QueryStrategy"]
    auto_label_method: str = DEFAULTS["AutoLabelMethod"]
    target_accuracy: float = DEFAULTS["TargetAccuracy"]
    confidence_level: float = DEFAULTS["ConfidenceLevel"]
    bootstrap_fraction: float = DEFAULTS["BootstrapFraction"]
    validation_fraction: float = DEFAULTS["ValidationFraction"]
    human_batch_size: int = DEFAULTS["HumanBatchSize"]
    max_class_miss_rate: float = DEFAULTS["MaxClassMissRate"]
    max_rounds: int = DEFAULTS["MaxRounds"]
    seed: int = DEFAULTS["Seed"]
    worker_accuracy: float = 1.0
    workers_per_item: int = 1
    workforce: str = "simulated"  # or "human": callback tasks wait for people (the labeling page, the CLI)
    timeout_seconds: int = 3600

    def active_learning_options(self) -> dict:
        """The ActiveLearningConfig settings of this run, by config key (as `labeler request` takes them)."""
        return {
            "target_accuracy": self.target_accuracy,
            "confidence_level": self.confidence_level,
            "bootstrap_fraction": self.bootstrap_fraction,
            "validation_fraction": self.validation_fraction,
            "human_batch_size": self.human_batch_size,
            "query_strategy": self.strategy,
            "auto_label_method": self.auto_label_method,
            "max_class_miss_rate": self.max_class_miss_rate,
            "max_rounds": self.max_rounds,
            "seed": self.seed,
        }


class RunFailed(RuntimeError):
    def __init__(self, execution_arn: str, status: str, state: str | None, error: str | None, cause: str | None):
        self.execution_arn, self.status, self.state, self.error, self.cause = execution_arn, status, state, error, cause
        super().__init__(f"execution {status}: state {state or '?'} failed with {error or '?'}: {cause or ''}")


@dataclass
class Run:
    options: RunOptions
    sample: Sample
    bucket: str
    execution_arn: str
    output_uri: str
    started: float
    workforce: SimulatedWorkforce
    answered_jobs: list[tuple[str, int]] = field(default_factory=list)  # (job name, labels sent)
    events_queue_url: str | None = None  # an SQS queue subscribed to the run-events topic
    notifications: list[dict] = field(default_factory=list)  # {"subject", "message"} of this run, as received


def request(sample: Sample, options: RunOptions, bucket: str, input_prefix: str, output_uri: str) -> dict:
    """The execution input, built and validated by `labeler request`'s code, as a user would."""
    human_task = None
    if options.backend == "ground_truth":
        task = json.loads(json.dumps(GROUND_TRUTH_TASK).replace("{bucket}", bucket))
        human_task = {**task, "NumberOfHumanWorkersPerDataObject": options.workers_per_item}
    return labeling_request.build(
        manifest=f"s3://{bucket}/{input_prefix}input.manifest",
        label_config=f"s3://{bucket}/{input_prefix}class_labels.json",
        output=output_uri,
        attribute=sample.attribute,
        prefix="news",
        backend=options.backend,
        human_task=human_task,
        **options.active_learning_options(),
    )


def start(
    deployment: Any, sample: Sample, options: RunOptions, answers_file: Path, *, run_name: str | None = None
) -> Run:
    """Start an execution named options.name. run_name (default: the same) names the input and output
    paths: a second execution with the run_name of a failed one resumes that run."""
    s3, sfn = deployment.client("s3"), deployment.client("stepfunctions")
    bucket = deployment.outputs["bucket_name"]
    run_name = run_name or options.name
    prefix = f"inputs/{run_name}/"
    body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in sample.manifest).encode()
    s3.put_object(Bucket=bucket, Key=f"{prefix}input.manifest", Body=body)
    s3.put_object(Bucket=bucket, Key=f"{prefix}class_labels.json", Body=json.dumps(sample.label_config).encode())
    s3.put_object(
        Bucket=bucket, Key="inputs/instructions.template", Body=b"<crowd-form>{{ task.input.taskObject }}</crowd-form>"
    )
    workforce = {
        "answers_file": str(answers_file),
        "key_field": KEY_FIELD,
        "worker_accuracy": options.worker_accuracy,
        "workers_per_item": options.workers_per_item,
        "seed": options.seed,
    }
    deployment.set_workforce(workforce)
    output_uri = f"s3://{bucket}/runs/{run_name}/"
    events_queue = subscribe_to_run_events(deployment, options.name)
    execution = sfn.start_execution(
        stateMachineArn=deployment.outputs["loop_state_machine_arn"],
        name=options.name,
        input=json.dumps(request(sample, options, bucket, prefix, output_uri)),
    )
    return Run(
        options,
        sample,
        bucket,
        execution["executionArn"],
        output_uri,
        time.monotonic(),
        SimulatedWorkforce.from_config(workforce),
        events_queue_url=events_queue,
    )


def subscribe_to_run_events(deployment: Any, name: str) -> str | None:
    """An SQS queue on the run-events topic, as a team would subscribe e-mail or chat: what they would be told."""
    topic = deployment.outputs.get("run_events_topic_arn")
    if not topic:
        return None
    sqs = deployment.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"run-events-{name}"[:80])["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    deployment.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return queue_url


def receive_notifications(deployment: Any, run: Run) -> list[dict]:
    """The run-events messages about this run that arrived since the last call (kept in run.notifications)."""
    if not run.events_queue_url:
        return []
    sqs = deployment.client("sqs")
    found = []
    while True:
        messages = sqs.receive_message(QueueUrl=run.events_queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            envelope = json.loads(message["Body"])  # SNS's JSON envelope: Subject, Message, ...
            note = {"subject": envelope.get("Subject"), "message": envelope.get("Message", "")}
            if f"run {run.options.name}" in note["message"] or run.options.name in (note["subject"] or ""):
                found.append(note)
            sqs.delete_message(QueueUrl=run.events_queue_url, ReceiptHandle=message["ReceiptHandle"])
    run.notifications += found
    return found


def _show_notifications(deployment: Any, run: Run, on_progress: Callable[[str], None]) -> None:
    for note in receive_notifications(deployment, run):
        on_progress(f"  notified: {note['subject']}")


def _wait_for_final_notification(deployment: Any, run: Run, on_progress: Callable[[str], None]) -> None:
    """The end-of-run message is sent asynchronously (EventBridge → NotifyRunEvents → SNS): wait for it briefly."""
    deadline = time.monotonic() + 30
    while run.events_queue_url and time.monotonic() < deadline:
        _show_notifications(deployment, run, on_progress)
        if any((note["subject"] or "").endswith(FINAL_SUBJECT_ENDINGS) for note in run.notifications):
            return
        time.sleep(0.5)


def answer_callback_tasks(deployment: Any, run: Run) -> int:
    """Label every pending callback task of this run the way an external tool would: read the task, label
    its batch, submit validated answers (upload + SendTaskSuccess)."""
    s3, sfn = deployment.client("s3"), deployment.client("stepfunctions")
    answered = 0
    for task in labeling_tasks.find_tasks(s3, sfn, run.output_uri):
        categories = labeling_tasks.categories(s3, task)
        rows = []
        for line_no, record in enumerate(labeling_tasks.batch_records(s3, task), start=1):
            vote = run.workforce.answer(record[KEY_FIELD], len(categories))
            if vote is not None:
                rows.append(
                    (
                        line_no,
                        {"al:record-id": record["al:record-id"], "label": vote.label, "confidence": vote.confidence},
                    )
                )
        answers = labeling_tasks.build_answers(task, categories, labeling_tasks.batch_records(s3, task), rows)
        labeling_tasks.submit(s3, sfn, task, answers)
        run.answered_jobs.append((task.job_name, len(answers)))
        answered += 1
    return answered


def _checkpoint(s3: Any, run: Run) -> dict | None:
    key = run.output_uri[len(f"s3://{run.bucket}/") :] + "working/checkpoint.json"
    try:
        return json.loads(s3.get_object(Bucket=run.bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def progress_line(run: Run, progress: dict) -> str:
    counts = progress["counts"]
    total = counts["total"] or 1
    return (
        f"[{time.monotonic() - run.started:6.0f}s] round {progress['round']:>2} · human {counts['human']:>7,} "
        f"({counts['human'] / total:5.1%}) · auto {counts['auto']:>7,} ({counts['auto'] / total:5.1%}) · "
        f"unlabeled {counts['unlabeled']:>7,} · next: {progress['next']}"
    )


def wait(deployment: Any, run: Run, on_progress: Callable[[str], None] = print, poll_seconds: float = 1.0) -> dict:
    s3, sfn = deployment.client("s3"), deployment.client("stepfunctions")
    last, gave_up = None, ""
    while True:
        description = sfn.describe_execution(executionArn=run.execution_arn)
        checkpoint = _checkpoint(s3, run)
        if checkpoint:
            key = (checkpoint["progress"]["step"], checkpoint["progress"]["round"], checkpoint["progress"]["next"])
            if key != last:
                last = key
                on_progress(progress_line(run, checkpoint["progress"]))
        _show_notifications(deployment, run, on_progress)
        if description["status"] in TERMINAL:
            _wait_for_final_notification(deployment, run, on_progress)
            break
        if run.options.backend == "callback" and run.options.workforce == "simulated":
            answer_callback_tasks(deployment, run)
        if not gave_up and time.monotonic() - run.started > run.options.timeout_seconds:
            gave_up = f"no result after {run.options.timeout_seconds} s: the runner stopped the execution"
            sfn.stop_execution(executionArn=run.execution_arn, error="LocalTimeout", cause=gave_up)
        time.sleep(poll_seconds)
    if description["status"] != "SUCCEEDED":
        failed = failure(sfn, run.execution_arn, description["status"])
        if gave_up:  # say so: an ABORTED execution's history names neither error nor cause
            failed = RunFailed(run.execution_arn, failed.status, failed.state, "LocalTimeout", gave_up)
        raise failed
    return json.loads(description["output"])


def history(sfn: Any, execution_arn: str) -> list[dict]:
    events, token = [], None
    while True:
        page = sfn.get_execution_history(
            executionArn=execution_arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def failure(sfn: Any, execution_arn: str, status: str) -> RunFailed:
    """The failing state, its error and cause, from the execution history."""
    events = history(sfn, execution_arn)
    state = failing_state(reversed(events))
    final = next((e for e in reversed(events) if e["type"] == "ExecutionFailed"), None)
    details = (final or {}).get("executionFailedEventDetails", {})
    return RunFailed(execution_arn, status, state, details.get("error"), details.get("cause"))


def max_state_bytes(sfn: Any, execution_arn: str) -> int:
    """Largest state input/output the execution carried (Step Functions' limit is 256 KB)."""
    biggest = 0
    for event in history(sfn, execution_arn):
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            details = event.get(key) or {}
            for field_name in ("input", "output"):
                if isinstance(details.get(field_name), str):
                    biggest = max(biggest, len(details[field_name].encode()))
    return biggest


def measure(deployment: Any, run: Run, output: dict, local_dir: Path) -> dict:
    """Download the final manifest and report; measure the auto-labels against the true labels and against
    the labels people give (the same unless the sample carries label noise)."""
    s3 = deployment.client("s3")
    local_dir.mkdir(parents=True, exist_ok=True)
    final_key = output["FinalManifestS3Uri"][len(f"s3://{run.bucket}/") :]
    final_path = local_dir / "final_output.manifest"
    s3.download_file(run.bucket, final_key, str(final_path))
    report = json.loads(
        s3.get_object(Bucket=run.bucket, Key=output["ReportS3Uri"][len(f"s3://{run.bucket}/") :])["Body"].read()
    )
    (local_dir / "report.json").write_text(json.dumps(report, indent=1))
    attribute, names = run.sample.attribute, [item["label"] for item in run.sample.label_config["labels"]]
    truth, given = run.sample.truth, run.sample.given
    per_class = {name: [0, 0] for name in names}  # predicted class -> [auto-labeled, correct]
    # the class people gave (true class) -> [items, auto-labeled as another class]: what MaxClassMissRate limits
    missed = {name: [0, 0] for name in names}
    missed_true = {name: [0, 0] for name in names}
    human_right = human = auto = auto_right = auto_agree = items = 0
    with final_path.open(encoding="utf-8") as stream:
        for line in stream:
            record = json.loads(line)
            items += 1
            if attribute not in record:
                continue
            key = record[KEY_FIELD]
            right = record[attribute] == truth[key]
            is_auto = record[f"{attribute}-metadata"].get("human-annotated") == "no"
            for tally, label in ((missed, given[key]), (missed_true, truth[key])):
                tally[names[label]][0] += 1
                tally[names[label]][1] += is_auto and record[attribute] != label
            if is_auto:
                auto += 1
                auto_right += right
                auto_agree += record[attribute] == given[key]
                per_class[names[record[attribute]]][0] += 1
                per_class[names[record[attribute]]][1] += right
            else:
                human += 1
                human_right += right
    return {
        "final_manifest": output["FinalManifestS3Uri"],
        "items": items,
        "human_labeled": human,
        "auto_labeled": auto,
        "auto_label_accuracy": round(auto_right / auto, 5) if auto else None,
        # What the claim certifies: agreement with the labels people give (the true labels, unless the
        # bench injects label noise).
        "auto_label_agreement": round(auto_agree / auto, 5) if auto else None,
        "claimed_accuracy_lower_bound": report["auto_label_accuracy"]["lower_bound"],
        "rounds": len(report["rounds"]),
        "seconds": round(time.monotonic() - run.started, 1),
        "unlabeled": items - human - auto,
        "stop_reason": report["stop_reason"],
        "human_label_accuracy": round(human_right / human, 5) if human else None,
        "per_class_auto_label_accuracy": {n: (round(c[1] / c[0], 5) if c[0] else None) for n, c in per_class.items()},
        "per_class_auto_labeled": {n: c[0] for n, c in per_class.items()},
        # share of each class's items (by the labels people give / the true labels) auto-labeled as another class
        "per_class_missed": {n: (round(c[1] / c[0], 5) if c[0] else None) for n, c in missed.items()},
        "per_class_missed_true": {n: (round(c[1] / c[0], 5) if c[0] else None) for n, c in missed_true.items()},
        "max_state_bytes": max_state_bytes(deployment.client("stepfunctions"), run.execution_arn),
        "local_final_manifest": str(final_path),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
