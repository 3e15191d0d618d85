"""`make run`: the whole active-learning labeling workflow on one machine, on the bundled UCI News sample.

No AWS account, no Docker: the embedded AWS (moto + local/embedded_aws) is deployed with the project's own
Terraform, the execution runs the same ASL and Lambda zips as on AWS, SageMaker jobs run the bundled
container as local processes, and a simulated workforce labels the human batches from the dataset's true
labels (kept out of the input manifest). The last line printed is one JSON object summarising the run.

Options pass through make: `make run ARGS='--size 2000 --backend ground_truth --worker-accuracy 0.9'`.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from labeler import request as labeling_request
from labeling_common import report, settings

from . import runner
from .deployment import STATE_DIR, LocalDeployment
from .runner import DEFAULTS
from .sample import Dataset, make_sample, positive_int


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="make run ARGS=...", description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=positive_int, default=10_000, help="items in the sample (default 10,000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample and of every random choice")
    p.add_argument(
        "--prelabeled", type=float, default=0.2, help="share of the sample that arrives labeled (default 0.2)"
    )
    p.add_argument("--strategy", default=DEFAULTS["QueryStrategy"], choices=settings.choices("QueryStrategy"))
    labeling_request.add_setting_options(
        p,
        (
            "auto_label_method",
            "target_accuracy",
            "confidence_level",
            "max_class_miss_rate",
            "human_batch_size",
            "max_rounds",
        ),
        with_defaults=True,
    )
    runner.add_simulation_options(p)
    p.add_argument("--backend", default=DEFAULTS["LabelingBackend"], choices=settings.choices("LabelingBackend"))
    p.add_argument(
        "--workforce",
        default="simulated",
        choices=["simulated", "human"],
        help="human: callback tasks wait for people (`make label`, or `labeler`), nothing is answered for them",
    )
    p.add_argument(
        "--keep-running", action="store_true", help="leave the local endpoint up afterwards (Ctrl-C stops it)"
    )
    return p.parse_args(argv)


def print_report(summary: dict, output: dict, html_path: Path) -> None:
    items = summary["items"]
    print()
    print("Labeling finished" + (f" ({summary['stop_reason']})" if summary["stop_reason"] != "all_labeled" else ""))
    print(f"  items               {items:>8,}")
    print(f"  labeled by humans   {summary['human_labeled']:>8,}  {summary['human_labeled'] / items:6.1%}")
    print(f"  labeled by model    {summary['auto_labeled']:>8,}  {summary['auto_labeled'] / items:6.1%}")
    if summary["unlabeled"]:
        print(f"  left unlabeled      {summary['unlabeled']:>8,}  {summary['unlabeled'] / items:6.1%}")
    accuracy, bound = summary["auto_label_accuracy"], summary["claimed_accuracy_lower_bound"]
    print(
        f"  auto-label accuracy {'—' if accuracy is None else f'{accuracy:8.2%}'}  (measured against the true labels)"
    )
    agreement = summary["auto_label_agreement"]
    if agreement != accuracy:
        shown = "—" if agreement is None else f"{agreement:8.2%}"
        print(f"  agreement           {shown}  (with the noisy labels people give)")
    print(
        f"  certified at least  {'—' if bound is None else f'{bound:8.2%}'}  "
        "(agreement with people's labels: the workflow's claim, made blind)"
    )
    for name, value in summary["per_class_auto_label_accuracy"].items():
        print(
            f"    {name:<28} {summary['per_class_auto_labeled'][name]:>6,} auto-labeled"
            + ("" if value is None else f", {value:.2%} right")
            + (
                ""
                if not summary["per_class_missed_true"][name]
                else f"; {summary['per_class_missed_true'][name]:.2%} of its items auto-labeled as another class"
            )
        )
    print(f"  rounds              {summary['rounds']:>8}")
    print(f"  wall time           {summary['seconds']:>7.0f}s")
    print(f"  final manifest      {output['FinalManifestS3Uri']}")
    print(f"                      {summary['local_final_manifest']}")
    print(f"  report              {html_path}")
    print(f"  notifications       {html_path.with_name('notifications.txt')}  (what the run-events topic said)")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below on `kill` too
    name = f"run-{args.seed}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    dataset = Dataset(args.dataset, args.text_column, args.label_column) if args.dataset else Dataset.bundled()
    sample = make_sample(
        dataset, args.size, seed=args.seed, prelabeled_fraction=args.prelabeled, label_noise=args.label_noise
    )
    run_dir = STATE_DIR / "runs" / name
    files = sample.write(run_dir / "sample")
    options = runner.RunOptions(
        name=name,
        backend=args.backend,
        strategy=args.strategy,
        auto_label_method=args.auto_label_method,
        target_accuracy=args.target_accuracy,
        max_class_miss_rate=args.max_class_miss_rate,
        confidence_level=args.confidence_level,
        human_batch_size=args.human_batch_size,
        max_rounds=args.max_rounds,
        seed=args.seed,
        worker_accuracy=args.worker_accuracy,
        workers_per_item=args.workers_per_item,
        timeout_seconds=args.timeout,
        workforce=args.workforce,
    )
    print(f"Sample: {args.size:,} items from {dataset.path.name}, {args.prelabeled:.0%} pre-labeled → {run_dir}")
    print("Starting the embedded AWS and deploying the stack with Terraform …", flush=True)
    with LocalDeployment() as deployment:
        print(
            f"  endpoint {deployment.aws.endpoint_url} · terraform apply "
            f"{deployment.timings['terraform_apply_seconds']:.0f}s",
            flush=True,
        )
        run = runner.start(deployment, sample, options, files["answers"])
        print(f"Execution {name} started ({args.backend} labeling, {args.strategy} selection)", flush=True)
        if args.workforce == "human":
            print(
                "Waiting for people to label each batch: in another terminal run\n"
                f"  make label ARGS='--endpoint-url {deployment.aws.endpoint_url} {run.output_uri}'\n"
                f"or use `labeler --endpoint-url {deployment.aws.endpoint_url} tasks {run.output_uri}`;\n"
                f"where the run stands: make status ARGS='--endpoint-url {deployment.aws.endpoint_url} "
                f"{run.output_uri} --watch 10'\n"
                f"its report so far: make report ARGS='--endpoint-url {deployment.aws.endpoint_url} {run.output_uri}'",
                flush=True,
            )
        try:
            output = runner.wait(deployment, run, on_progress=lambda line: print(line, flush=True))
        except runner.RunFailed as failed:
            print(
                f"\nThe execution failed at state {failed.state or '?'}: {failed.error}\n  {failed.cause}",
                file=sys.stderr,
            )
            print(f"  logs: {deployment.aws.state_dir / 'logs'}", file=sys.stderr)
            return 1
        summary = runner.measure(deployment, run, output, run_dir)
        summary_path = run_dir / "summary.json"
        summary_path.write_text(json.dumps(summary, indent=1))
        report_data = json.loads((run_dir / "report.json").read_text())
        measured = {
            "auto_label_accuracy": summary["auto_label_accuracy"],
            "per_class_accuracy": summary["per_class_auto_label_accuracy"],
            "seconds": summary["seconds"],
        }
        html_path = run_dir / "report.html"
        html_path.write_text(report.render_html(report_data, measured), encoding="utf-8")
        told = "".join(
            f"{note['subject']}\n  " + note["message"].replace("\n", "\n  ") + "\n" for note in run.notifications
        )
        (run_dir / "notifications.txt").write_text(told, encoding="utf-8")
        print_report(summary, output, html_path)
        if args.keep_running:
            print(
                f"\nThe local endpoint stays up: aws --endpoint-url {deployment.aws.endpoint_url} "
                f"stepfunctions describe-execution --execution-arn {run.execution_arn}   (Ctrl-C stops it)"
            )
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    keys = [
        "final_manifest",
        "items",
        "human_labeled",
        "auto_labeled",
        "auto_label_accuracy",
        "auto_label_agreement",
        "claimed_accuracy_lower_bound",
        "rounds",
        "seconds",
        "unlabeled",
        "stop_reason",
    ]
    print(json.dumps({key: summary[key] for key in keys}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
