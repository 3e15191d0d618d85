"""`labeler`: answer the workflow's callback labeling tasks from the command line.

  labeler tasks s3://bucket/prefix/              list tasks waiting for labels
  labeler export TASK --out batch.csv            the batch for any labeling tool (CSV or JSON Lines)
  labeler submit TASK answers.csv                validate, upload, and complete the task (SendTaskSuccess)
  labeler fail TASK --reason "..."               give up on the task (SendTaskFailure)
  labeler heartbeat TASK                         tell the workflow the labelers are still at it
  labeler request --manifest … --labels … --output …   write a validated execution input (request.json)
  labeler serve s3://bucket/prefix/ [--port 8000]   a labeling page for a small team (http://127.0.0.1:8000/)
  labeler status s3://bucket/run/ [--watch 30] [--json]   where a run stands (counts, bound, what it waits for)
  labeler report s3://bucket/run/ [--out report.html]    the run's HTML report (finished, or as it stands)

TASK is the task's S3 URI (…/batches/<job>/task.json, as printed by `labeler tasks` and announced on the
labeling SNS topic). Credentials and region come from the usual AWS environment; `--endpoint-url` (or
AWS_ENDPOINT_URL) points at the local endpoint of `make run`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import boto3

from labeling_common import report, settings

from . import request, status, tasks, web

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _clients(args: argparse.Namespace):
    options = {"endpoint_url": args.endpoint_url} if args.endpoint_url else {}
    return boto3.client("s3", **options), boto3.client("stepfunctions", **options)


def _serve_clients(args: argparse.Namespace):
    """As _clients, except that a local endpoint (`make run`'s) gets a region and placeholder credentials when
    the environment has none: the embedded AWS checks neither, and the page should start from a fresh shell."""
    endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint or urlsplit(endpoint).hostname not in LOOPBACK:
        return _clients(args)
    options = {"endpoint_url": endpoint, "region_name": boto3.Session().region_name or "us-east-1"}
    if not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
        options.update(aws_access_key_id="local", aws_secret_access_key="local")
    return boto3.client("s3", **options), boto3.client("stepfunctions", **options)


def _format(path: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    return "csv" if path.lower().endswith(".csv") else "jsonl"


def cmd_tasks(args: argparse.Namespace) -> int:
    s3, sfn = _clients(args)
    found = tasks.find_tasks(s3, sfn, args.location, include_answered=args.all)
    for task in found:
        doc = task.document
        print(f"{task.uri}\t{doc['JobName']}\t{doc['RecordCount']} records\tcreated {doc['CreatedAt']}")
    if not found:
        print("no pending labeling task", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    s3, _ = _clients(args)
    task = tasks.load_task(s3, args.task)
    records = tasks.batch_records(s3, task)
    fmt = _format(args.out, args.format)
    text = (
        tasks.export_csv(records)
        if fmt == "csv"
        else "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in tasks.export_rows(records))
    )
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"wrote {len(records)} records of {task.job_name} to {args.out}; labels: {', '.join(task.labels)}")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    s3, sfn = _clients(args)
    task = tasks.load_task(s3, args.task)
    rows = tasks.read_answer_rows(Path(args.answers).read_text(encoding="utf-8"), _format(args.answers, args.format))
    answers = tasks.build_answers(task, tasks.categories(s3, task), tasks.batch_records(s3, task), rows)
    if args.dry_run:
        print(f"{len(answers)} answers are valid for {task.job_name}; nothing sent (--dry-run)")
        return 0
    output = tasks.submit(s3, sfn, task, answers)
    left = task.document["RecordCount"] - len(answers)
    print(
        f"sent {len(answers)} labels for {task.job_name} ({output['LabeledManifestS3Uri']})"
        + (f"; {left} records left unlabeled will be asked again" if left else "")
    )
    return 0


def cmd_fail(args: argparse.Namespace) -> int:
    s3, sfn = _clients(args)
    task = tasks.load_task(s3, args.task)
    tasks.fail(sfn, task, args.error, args.reason)
    print(f"failed {task.job_name}: {args.error}: {args.reason}")
    return 0


def cmd_heartbeat(args: argparse.Namespace) -> int:
    s3, sfn = _clients(args)
    tasks.heartbeat(sfn, tasks.load_task(s3, args.task))
    return 0


def cmd_request(args: argparse.Namespace) -> int:
    human_task = None
    if args.backend == "ground_truth":
        if not (args.workteam_arn and args.ui_template and args.region):
            raise request.RequestError("the ground_truth backend needs --workteam-arn, --ui-template and --region")
        human_task = request.human_task_config(
            args.region, args.workteam_arn, args.ui_template, args.task_title, args.workers_per_item
        )
    options = {key: getattr(args, key) for key in request.SETTINGS}
    body = request.build(
        manifest=args.manifest,
        label_config=args.labels,
        output=args.output,
        attribute=args.attribute,
        prefix=args.prefix,
        backend=args.backend,
        human_task=human_task,
        **options,
    )
    text = json.dumps(body, indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(
            f"wrote {args.out}: aws stepfunctions start-execution --state-machine-arn <loop ARN> "
            f"--name <run name> --input file://{args.out}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    s3, sfn = _serve_clients(args)
    web.check_location(s3, args.location)
    try:
        server = web.make_server(
            s3, sfn, args.location, args.host, args.port, allowed_hosts=tuple(args.allowed_host or ())
        )
    except (OSError, OverflowError) as error:  # port taken, bad address, port out of range
        raise tasks.TaskError(f"cannot listen on {args.host}:{args.port}: {error}") from None
    print(f"labeling page: http://{args.host}:{server.server_port}/  (tasks under {args.location}; Ctrl-C stops)")
    if server.password is not None:
        names = ", ".join(sorted(server.host_names)) or "none: add --allowed-host NAME"
        print(
            f"served beyond this machine: user {web.USER!r}, password {server.password} (new at every start); "
            f"host names accepted: {names}. Use an HTTPS proxy outside a trusted network.",
            file=sys.stderr,
        )
    sys.stdout.flush()  # the first line tells scripts (and tests, with --port 0) where the page is
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    s3, sfn = _serve_clients(args)
    while True:
        found = status.run_status(s3, sfn, args.output)
        if args.json:
            print(json.dumps(found, sort_keys=True), flush=True)
        else:
            print(status.render(found), flush=True)
        if not args.watch or found["state"] != "running":
            return 0
        time.sleep(args.watch)
        if not args.json:
            print(flush=True)


def cmd_report(args: argparse.Namespace) -> int:
    s3, sfn = _serve_clients(args)
    document = status.report_document(s3, sfn, args.output)
    if args.json:
        print(json.dumps(document, sort_keys=True))
        return 0
    Path(args.out).write_text(report.render_html(document), encoding="utf-8")
    state = "finished" if document.get("finished_at") else "in progress"
    print(f"wrote {args.out}: the report of the run at {args.output} ({state}, {len(document['rounds'])} rounds)")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="labeler", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    top.add_argument(
        "--endpoint-url", help="AWS endpoint (the local endpoint of `make run`); default: AWS_ENDPOINT_URL or AWS"
    )
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("tasks", help="list labeling tasks waiting for answers")
    p.add_argument("location", help="s3://bucket[/prefix] to search (a run's S3OutputPath, or the whole bucket)")
    p.add_argument("--all", action="store_true", help="also list answered and abandoned tasks")
    p.set_defaults(run=cmd_tasks)

    p = sub.add_parser("export", help="write a task's batch as CSV or JSON Lines for any labeling tool")
    p.add_argument("task")
    p.add_argument("--out", required=True)
    p.add_argument("--format", choices=["csv", "jsonl"])
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("submit", help="validate answers, upload them and complete the task")
    p.add_argument("task")
    p.add_argument("answers", help="CSV (al:record-id,label[,confidence]) or JSON Lines")
    p.add_argument("--format", choices=["csv", "jsonl"])
    p.add_argument("--dry-run", action="store_true", help="validate only")
    p.set_defaults(run=cmd_submit)

    p = sub.add_parser("fail", help="fail the task (the workflow records the failure and stops)")
    p.add_argument("task")
    p.add_argument("--reason", required=True)
    p.add_argument("--error", default="LabelingAbandoned")
    p.set_defaults(run=cmd_fail)

    p = sub.add_parser("request", help="write a validated execution input for the labeling state machine")
    p.add_argument("--manifest", required=True, help="s3:// URI of the input manifest (JSON Lines)")
    p.add_argument("--labels", required=True, help="s3:// URI of the label category config")
    p.add_argument("--output", required=True, help="s3:// prefix for everything the run writes (S3OutputPath)")
    p.add_argument("--attribute", default="category", help="label attribute name (default: category)")
    p.add_argument("--prefix", default="labeling", help="labeling job name prefix")
    p.add_argument("--backend", choices=settings.choices("LabelingBackend"))
    p.add_argument("--region", help="for ground_truth: the region (Ground Truth's own Lambdas are per region)")
    p.add_argument("--workteam-arn", help="for ground_truth: the work team")
    p.add_argument("--ui-template", help="for ground_truth: s3:// URI of the worker UI template")
    p.add_argument("--task-title", default="Choose the category of the text")
    p.add_argument("--workers-per-item", type=int, default=3)
    request.add_setting_options(p)  # every ActiveLearningConfig setting, from the schema
    p.add_argument("--out", help="file to write (default: stdout)")
    p.set_defaults(run=cmd_request)

    p = sub.add_parser("heartbeat", help="keep a long task alive")
    p.add_argument("task")
    p.set_defaults(run=cmd_heartbeat)

    p = sub.add_parser("serve", help="serve a labeling page for the tasks under LOCATION")
    p.add_argument("location", help="s3://bucket[/prefix] to serve tasks from (a run's S3OutputPath, or a bucket)")
    p.add_argument("--port", type=int, default=8000, help="default: 8000 (0: any free port)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    p.add_argument(
        "--allowed-host",
        action="append",
        help="a host name browsers use for this page (a proxy's, or the machine's DNS name); repeatable",
    )
    # Also accepted after `serve` (make label passes ARGS there); SUPPRESS keeps a value given before it.
    p.add_argument("--endpoint-url", default=argparse.SUPPRESS, help="as the global --endpoint-url")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("status", help="where a run stands: counts, certified bound, what it waits for, its execution")
    p.add_argument("output", help="the run's S3OutputPath (s3://bucket/prefix/)")
    p.add_argument("--json", action="store_true", help="one JSON object (per refresh) instead of text")
    p.add_argument("--watch", type=float, metavar="SECONDS", help="refresh every SECONDS while the run is running")
    p.add_argument("--endpoint-url", default=argparse.SUPPRESS, help="as the global --endpoint-url")
    p.set_defaults(run=cmd_status)

    p = sub.add_parser("report", help="the run's HTML report: summary, rounds, chart, per class (finished or not)")
    p.add_argument("output", help="the run's S3OutputPath (s3://bucket/prefix/)")
    p.add_argument("--out", default="report.html", help="HTML file to write (default: report.html)")
    p.add_argument("--json", action="store_true", help="print the report document (report.json's form) instead")
    p.add_argument("--endpoint-url", default=argparse.SUPPRESS, help="as the global --endpoint-url")
    p.set_defaults(run=cmd_report)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (tasks.TaskError, request.RequestError, status.StatusError) as error:
        print(f"labeler: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
