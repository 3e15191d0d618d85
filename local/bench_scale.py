"""`make bench-scale`: a generated manifest of N lines (default 1,000,000) through every manifest-handling
Lambda, invoked one by one on the embedded AWS exactly as the state machines would call them, with each
function's own process measured (seconds, peak RSS: see local/embedded_aws). The model steps in between
(the training and transform jobs) are replaced by a generated transform output, since they are not Lambdas.

Also runs the same chain at 1/10 of N so the ratio of peak memory shows whether it stays flat, and copies
the manifest with boto3's managed transfer (what `aws s3 cp` uses) as a reference for raw throughput.
The last line is one JSON object: {"lines", "functions": {name: {"seconds", "peak_mb"}}, "max_peak_mb",
"max_seconds", "peak_ratio_vs_100k"}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

from .deployment import STATE_DIR, LocalDeployment
from .sample import Dataset, read_rows

CLASSES = ["Business", "Entertainment", "Health & Medicine", "Science and Technology"]
EXECUTION = {
    "name": "bench-scale",
    "arn": "arn:aws:states:us-east-1:123456789012:execution:al-local-active-learning-loop:bench-scale",
}
CHAIN = [
    "validate_input",
    "bootstrap_manifest",
    "prepare_human_batch",
    "merge_labels(human)",
    "create_validation_set",
    "prepare_training",
    "prepare_inference",
    "select_and_auto_label",
    "merge_labels(auto)",
    "export_final",
]


def _writer_env(endpoint: str) -> None:
    """The harness writes big objects with the workflow's own streaming writer."""
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    from labeling_common.aws import reset_clients

    reset_clients()


def generate_manifest(uri: str, lines: int, *, labeled_fraction: float, seed: int) -> int:
    """Headlines from the bundled UCI sample, repeated with a numbered suffix; ~10% pre-labeled."""
    from labeling_common.s3io import JsonLinesWriter

    rows = read_rows(Dataset.bundled())
    codes = {"b": 0, "e": 1, "m": 2, "t": 3}
    rng = random.Random(seed)
    with JsonLinesWriter(uri) as writer:
        for n in range(lines):
            row = rows[n % len(rows)]
            record = {"source": f"{row['title']} ({n // len(rows)})", "item-id": n, "publisher": row["publisher"]}
            if rng.random() < labeled_fraction:
                label = codes[row["category"]]
                record["category"] = label
                record["category-metadata"] = {
                    "class-name": CLASSES[label],
                    "confidence": 1.0,
                    "human-annotated": "yes",
                    "type": "groundtruth/text-classification",
                }
            writer.write(record)
    return writer.lines


def write_answers(batch_uri: str, answer_uri: str, job_name: str) -> None:
    """A labeling tool's answers for a whole batch (Ground Truth output format)."""
    from labeling_common.manifest import label_metadata
    from labeling_common.s3io import JsonLinesWriter, iter_records

    with JsonLinesWriter(answer_uri) as writer:
        for record in iter_records(batch_uri):
            label = record["item-id"] % 4
            writer.write(
                {
                    "al:record-id": record["al:record-id"],
                    "category": label,
                    "category-metadata": label_metadata(CLASSES[label], confidence=1.0, human=True, job_name=job_name),
                }
            )


def write_transform_output(inference: dict, seed: int) -> None:
    """What the transform job would write: a prediction per input line, joined and filtered."""
    from labeling_common.s3io import JsonLinesWriter, iter_records

    rng = random.Random(seed)
    request = inference["request"]
    source = request["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] + "records.jsonl"
    with JsonLinesWriter(inference["output_uri"] + "records.jsonl.out") as writer:
        for line in iter_records(source):
            top = rng.uniform(0.3, 1.0)
            order = rng.sample(range(4), 4)
            rest = [(1 - top) * share for share in (0.6, 0.3, 0.1)]
            writer.write(
                {
                    "al:record-id": line["al:record-id"],
                    "SageMakerOutput": {"label": [f"__label__{c}" for c in order], "prob": [top, *rest]},
                }
            )


class Chain:
    def __init__(self, deployment: LocalDeployment):
        self.deployment = deployment
        # One attempt, and long enough to wait for a 15-minute function (botocore's default 60 s read
        # timeout would re-send a long invocation: harmless, the steps are idempotent, but mismeasured).
        self.lam = boto3.client(
            "lambda",
            endpoint_url=deployment.aws.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(read_timeout=960, retries={"total_max_attempts": 1}),
        )
        self.names = deployment.outputs["function_names"]
        self.measured: dict[str, dict] = {}

    def invoke(self, step: str, event: dict) -> dict:
        function = step.split("(")[0]
        before = len(self.deployment.aws.read_jsonl())
        response = self.lam.invoke(FunctionName=self.names[function], Payload=json.dumps(event).encode())
        payload = json.loads(response["Payload"].read())
        if response.get("FunctionError"):
            raise RuntimeError(f"{step} failed: {payload}")
        records = [r for r in self.deployment.aws.read_jsonl()[before:] if r["function"] == self.names[function]]
        if len(records) != 1:
            raise RuntimeError(f"{step}: expected one invocation, found {len(records)}")
        record = records[0]
        self.measured[step] = {"seconds": round(record["seconds"], 2), "peak_mb": round(record["peak_mb"], 1)}
        print(f"  {step:<24} {record['seconds']:8.1f} s  {record['peak_mb']:7.1f} MB", flush=True)
        return payload


def run_chain(deployment: LocalDeployment, lines: int, seed: int) -> dict:
    bucket = deployment.outputs["bucket_name"]
    prefix = f"scale/{lines}/"
    manifest_uri = f"s3://{bucket}/{prefix}input.manifest"
    labels_uri = f"s3://{bucket}/{prefix}class_labels.json"
    deployment.client("s3").put_object(
        Bucket=bucket,
        Key=f"{prefix}class_labels.json",
        Body=json.dumps({"document-version": "2018-11-28", "labels": [{"label": name} for name in CLASSES]}).encode(),
    )
    started = time.monotonic()
    generate_manifest(manifest_uri, lines, labeled_fraction=0.1, seed=seed)
    size = deployment.client("s3").head_object(Bucket=bucket, Key=f"{prefix}input.manifest")["ContentLength"]
    print(f"{lines:,} lines ({size / 1e6:.0f} MB) generated in {time.monotonic() - started:.0f} s", flush=True)

    chain = Chain(deployment)
    request = {
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": manifest_uri}}},
        "OutputConfig": {"S3OutputPath": f"s3://{bucket}/{prefix}run/"},
        "LabelAttributeName": "category",
        "LabelCategoryConfigS3Uri": labels_uri,
        "LabelingJobNamePrefix": "scale",
        # the round's human batch: a tenth of the items (10k / 100k answers), the largest merge a run makes
        "ActiveLearningConfig": {"Seed": seed, "HumanBatchSize": min(100_000, lines // 10)},
    }
    execution = {**EXECUTION, "name": f"bench-scale-{lines}", "arn": EXECUTION["arn"] + f"-{lines}"}
    config = chain.invoke("validate_input", {"request": request, "execution": execution})
    progress = chain.invoke("bootstrap_manifest", {"config": config, "execution": execution})
    progress = chain.invoke("create_validation_set", {"config": config, "progress": progress})
    training = chain.invoke("prepare_training", {"config": config, "progress": progress})
    inference = chain.invoke("prepare_inference", {"config": config, "progress": progress, "training": training})
    write_transform_output(inference, seed)
    result = chain.invoke(
        "select_and_auto_label", {"config": config, "progress": progress, "training": training, "inference": inference}
    )
    progress = chain.invoke(
        "merge_labels(auto)", {"config": config, "progress": progress, "source": "auto", "round_result": result}
    )
    batch = chain.invoke("prepare_human_batch", {"config": config, "progress": progress})
    write_answers(batch["batch_manifest_uri"], batch["answer_uri"], batch["job_name"])
    answer = {"JobName": batch["job_name"], "LabeledManifestS3Uri": batch["answer_uri"]}
    progress = chain.invoke(
        "merge_labels(human)",
        {
            "config": config,
            "progress": progress,
            "source": "human",
            "batch": batch,
            "labeling": {"callback_answer": answer},
        },
    )
    progress = {**progress, "next": "export", "stop_reason": "max_rounds"}
    chain.invoke("export_final", {"config": config, "progress": progress, "execution": execution})
    return {"bytes": size, "functions": chain.measured, "reference": reference_copy(deployment, manifest_uri, size)}


def reference_copy(deployment: LocalDeployment, uri: str, size: int) -> dict:
    """The same object downloaded and uploaded by boto3's managed transfer (s3transfer, as `aws s3 cp`),
    in its own process, measured the same way."""
    code = (
        "import boto3,sys,tempfile;s3=boto3.client('s3');b,k=sys.argv[1],sys.argv[2]\n"
        "with tempfile.TemporaryFile() as f:\n s3.download_fileobj(b,k,f);f.seek(0);s3.upload_fileobj(f,b,k+'.copy')"
    )
    bucket, key = uri[5:].split("/", 1)
    wrapper = Path(__file__).parent / "embedded_aws" / "rss_wrapper.py"
    with tempfile.NamedTemporaryFile() as peak:
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-S", str(wrapper), peak.name, sys.executable, "-c", code, bucket, key],
            check=True,
            env={**os.environ, "AWS_ENDPOINT_URL": deployment.aws.endpoint_url},
        )
        seconds = time.monotonic() - started
        peak_mb = int(Path(peak.name).read_text()) / 1024
    print(f"  {'s3 copy (reference)':<24} {seconds:8.1f} s  {peak_mb:7.1f} MB", flush=True)
    return {"seconds": round(seconds, 2), "peak_mb": round(peak_mb, 1), "mb_per_second": round(size / 1e6 / seconds, 1)}


def table(lines: int, result: dict) -> str:
    megabytes = result["bytes"] / 1e6
    out = [f"| function ({lines:,} lines, {megabytes:.0f} MB) | seconds | peak MB | MB/s |", "|---|---:|---:|---:|"]
    for name, m in result["functions"].items():
        out.append(f"| {name} | {m['seconds']:.1f} | {m['peak_mb']:.0f} | {megabytes / max(m['seconds'], 0.01):.1f} |")
    ref = result["reference"]
    out.append(
        f"| s3 copy, boto3 transfer (reference) | {ref['seconds']:.1f} | {ref['peak_mb']:.0f} | "
        f"{ref['mb_per_second']:.1f} |"
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench-scale ARGS=...", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("bench-results"))
    args = parser.parse_args(argv)
    small = max(args.lines // 10, 1000)
    with LocalDeployment(state_dir=STATE_DIR / "bench-scale") as deployment:
        _writer_env(deployment.aws.endpoint_url)
        results = {}
        for lines in (small, args.lines):
            print(f"\n== {lines:,} lines", flush=True)
            results[lines] = run_chain(deployment, lines, args.seed)
    big, base = results[args.lines]["functions"], results[small]["functions"]
    summary = {
        "lines": args.lines,
        "functions": big,
        "max_peak_mb": max(m["peak_mb"] for m in big.values()),
        "max_seconds": max(m["seconds"] for m in big.values()),
        "peak_ratio_vs_100k": round(
            max(m["peak_mb"] for m in big.values()) / max(m["peak_mb"] for m in base.values()), 3
        ),
        "baseline_lines": small,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    markdown = "\n\n".join(table(lines, result) for lines, result in results.items())
    (args.out / "bench-scale.md").write_text(markdown + "\n")
    (args.out / "bench-scale.json").write_text(
        json.dumps({"summary": summary, "runs": {str(k): v for k, v in results.items()}}, indent=1)
    )
    print("\n" + markdown)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
