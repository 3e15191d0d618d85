"""A person labels a batch with the labeling page in a real browser (headless Chromium), while the workflow
runs on the embedded AWS: `labeler serve` started as a user starts it, the batch labeled with the keyboard,
submitted, and the labels found in the final manifest under that batch's job name."""

from __future__ import annotations

import contextlib
import json
import re
import select
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from local import runner
from local.sample import KEY_FIELD

from .browser import MISSING, SCREENSHOTS, chromium_page, expect
from .conftest import check_final_manifest, run_workflow

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(bool(MISSING), reason=f"the labeling page test needs {' and '.join(MISSING)}"),
]


@contextlib.contextmanager
def labeler_serve(endpoint_url: str, location: str, log: Path):
    """`labeler serve` in its own process on a free port; yields the page's URL."""
    command = [sys.executable, "-m", "labeler", "serve", "--endpoint-url", endpoint_url, "--port", "0", location]
    with log.open("w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        first_line = process.stdout.readline() if ready else ""
        found = re.search(r"http://\S+/", first_line)
        assert found, f"labeler serve did not start: {first_line!r}\n{log.read_text()}"
        yield found.group(0)
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for_task(url: str, deployment, run, timeout: float = 600) -> dict:
    """The first task the page lists, once the workflow has written it."""
    sfn = deployment.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url + "api/tasks", timeout=30) as response:
            found = json.load(response)["tasks"]
        if found:
            return found[0]
        status = sfn.describe_execution(executionArn=run.execution_arn)["status"]
        if status in runner.TERMINAL:
            raise runner.failure(sfn, run.execution_arn, status)
        time.sleep(1)
    raise AssertionError(f"no labeling task under {run.output_uri} after {timeout:.0f}s")


def declined_submission(page) -> str:
    """Submit a partly labeled batch and decline when the page asks to confirm; returns what it asked."""
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator("#submit").click()
    return asked[0] if asked else ""


def label_in_browser(url: str, job: str, true_label) -> dict[int, int]:
    """Label every item of the batch with the keyboard as a person would; returns {record id: label given}."""
    given: dict[int, int] = {}
    with chromium_page(1000, 720) as page:
        page.goto(url)
        page.get_by_role("row", name=job).get_by_role("link", name="Label").click()
        item, progress = page.locator("#item"), page.locator("#progress-text")
        expect(item).to_have_attribute("data-record-id", re.compile(r"\d+"))
        total = int(progress.inner_text().split(" of ")[1].split()[0])
        classes = page.locator("#labels button").count()

        def current() -> int:
            return int(item.get_attribute("data-record-id"))

        first = current()
        page.keyboard.press("ArrowRight")  # skip, then come back
        expect(item).not_to_have_attribute("data-record-id", str(first))
        page.keyboard.press("ArrowLeft")
        expect(item).to_have_attribute("data-record-id", str(first))

        for done in range(total):
            record_id = current()
            label = true_label(record_id)
            if done == 2:  # a slip of the finger, undone
                page.keyboard.press(str((label + 1) % classes + 1))
                expect(progress).to_have_text(f"{done + 1} of {total} labeled")
                page.keyboard.press("Backspace")
                expect(progress).to_have_text(f"{done} of {total} labeled")
                assert current() == record_id
            page.keyboard.press(str(label + 1))
            given[record_id] = label
            expect(progress).to_have_text(f"{done + 1} of {total} labeled")
            if done + 1 == total // 2:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENSHOTS / "labeling-page.png"))
                page.reload()  # the answers so far survive it (localStorage)
                expect(progress).to_have_text(f"{done + 1} of {total} labeled")
                assert declined_submission(page).startswith(f"Submit {done + 1} of {total} labels?")
                expect(page.locator("#task-view")).to_be_visible()  # nothing was sent

        page.locator("#submit").click()  # every item labeled: no confirmation asked
        expect(page.locator("#message")).to_contain_text(f"Sent {total} labels for {job}", timeout=60_000)
        expect(page.locator("#list-view")).to_be_visible()
    return given


def test_a_batch_labeled_in_the_browser_reaches_the_final_manifest(deployment, tmp_path):
    sample, run = run_workflow(
        deployment,
        tmp_path,
        "e2e-labeling-page",
        300,
        prelabeled=0.1,
        max_rounds=1,
        human_batch_size=30,
        workforce="human",  # the runner answers nothing: the batch waits for the page
        seed=11,
        sample_seed=11,
    )

    def true_label(record_id: int) -> int:  # the record id is the record's position in the input manifest
        return sample.truth[sample.manifest[record_id][KEY_FIELD]]

    with labeler_serve(deployment.aws.endpoint_url, run.output_uri, tmp_path / "serve.log") as url:
        task = wait_for_task(url, deployment, run)
        given = label_in_browser(url, task["job"], true_label)
    assert len(given) == task["records"]

    run.options.workforce = "simulated"  # the later batches, if any
    output = runner.wait(deployment, run, on_progress=lambda line: None)  # raises unless SUCCEEDED
    summary = runner.measure(deployment, run, output, tmp_path / "result")
    final = check_final_manifest(sample, summary)
    from_page = {
        position: line["category"]
        for position, line in enumerate(final)
        if line.get("category-metadata", {}).get("job-name") == f"labeling-job/{task['job']}"
    }
    assert from_page == given  # record id = position in the input manifest; the undone slip is not there
    assert all(final[position]["category-metadata"]["human-annotated"] == "yes" for position in from_page)
