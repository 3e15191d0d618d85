"""The run report as a person sees it, in headless Chromium: `labeler report` while the run waits for
people (built from the checkpoint) and once it is done (report.json), checked against the run's own
figures; the finished report is the very page ExportFinal wrote beside report.json (one renderer)."""

from __future__ import annotations

import json
import time

import pytest

from labeler import cli
from labeler import status as run_status
from labeler import tasks as labeling_tasks
from labeling_common import report
from local import runner

from .browser import MISSING, SCREENSHOTS, chromium_page, expect
from .conftest import run_workflow

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(bool(MISSING), reason=f"the report page test needs {' and '.join(MISSING)}"),
]


def _read(s3, uri: str) -> bytes:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def _wait_for_task(s3, sfn, run, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not labeling_tasks.find_tasks(s3, sfn, run.output_uri):
        status = sfn.describe_execution(executionArn=run.execution_arn)["status"]
        if status in runner.TERMINAL:
            raise runner.failure(sfn, run.execution_arn, status)
        assert time.monotonic() < deadline, "no labeling task came"
        time.sleep(1)


def _labeler_report(capsys, endpoint_url: str, output_uri: str, path) -> str:
    capsys.readouterr()
    assert cli.main(["--endpoint-url", endpoint_url, "report", output_uri, "--out", str(path)]) == 0
    return capsys.readouterr().out


def _cells(page, selector: str) -> list[list[str]]:
    return page.locator(selector).evaluate(
        "table => [...table.rows].map(row => [...row.cells].map(cell => cell.innerText.trim()))"
    )


def test_the_report_while_people_label_and_once_the_run_is_done(deployment, tmp_path, capsys):
    _, run = run_workflow(
        deployment, tmp_path, "e2e-report", 2000, human_batch_size=400, seed=5, workforce="human"
    )  # the callback run's sample: round 1 certifies auto-labels, then the first batch waits for people
    s3, sfn, endpoint = deployment.client("s3"), deployment.client("stepfunctions"), deployment.aws.endpoint_url
    _wait_for_task(s3, sfn, run)
    printed = _labeler_report(capsys, endpoint, run.output_uri, tmp_path / "running.html")
    assert "(in progress, 1 rounds)" in printed
    running = run_status.report_document(s3, sfn, run.output_uri)
    checkpoint = json.loads(_read(s3, run.output_uri + "working/checkpoint.json"))
    assert running["counts"] == checkpoint["progress"]["counts"] and running["finished_at"] is None
    assert running["auto_label_accuracy"]["lower_bound"] >= 0.95  # round 1 certified its auto-labels

    run.options.workforce = "simulated"  # people answer from here on
    output = runner.wait(deployment, run, on_progress=lambda line: None)
    printed = _labeler_report(capsys, endpoint, run.output_uri, tmp_path / "finished.html")
    finished_html = (tmp_path / "finished.html").read_text(encoding="utf-8")
    assert finished_html == _read(s3, output["ReportHtmlS3Uri"]).decode()  # what ExportFinal wrote, byte for byte
    document = json.loads(_read(s3, output["ReportS3Uri"]))
    counts, rounds = document["counts"], document["rounds"]

    with chromium_page(1000, 900) as page:
        page.goto((tmp_path / "running.html").as_uri())
        expect(page.locator("#summary")).to_contain_text("in progress: 1 rounds so far")

        page.goto((tmp_path / "finished.html").as_uri())
        facts = dict(_cells(page, "#summary"))
        assert facts["state"].startswith(f"finished ({output['StopReason']})")
        assert facts["human-labeled"] == f"{counts['human']:,} ({counts['human'] / counts['total']:.1%})"
        assert facts["auto-labeled"] == f"{counts['auto']:,} ({counts['auto'] / counts['total']:.1%})"
        bound = document["auto_label_accuracy"]["lower_bound"]
        assert facts["certified agreement of the auto-labels"].startswith(f"≥ {bound:.2%}")
        assert facts["final manifest"] == output["FinalManifestS3Uri"]
        table = _cells(page, "#rounds")
        assert len(table) == len(rounds) + 1 == output["Rounds"] + 1
        for row, summary in zip(table[1:], rounds, strict=True):
            assert (row[0], row[3], row[4].split(" ")[0], row[5]) == (
                str(summary["round"]),
                f"{summary['auto_labeled']:,}",
                f"{summary['selected']:,}",
                f"{summary['calibration']['validation_items']:,}",
            )
        classes = _cells(page, "#classes")[1:]
        assert [row[0] for row in classes] == [entry["class"] for entry in report.per_class(document)]
        assert sum(int(row[1].replace(",", "")) for row in classes) == counts["auto"]
        points = report.timeline(document)
        expect(page.locator("#chart rect.auto")).to_have_count(len(points))
        expect(page.locator("#chart circle.bound")).to_have_count(sum(p["bound"] is not None for p in points))
        assert page.locator("#chart").bounding_box()["height"] > 200  # drawn, not an empty box
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "report.png"), full_page=True)
