"""Running checkov (installed in its own virtualenv: its pins conflict with the project's boto3) and
reading its JSON report."""

from __future__ import annotations

import json
import subprocess

import pytest


def run_checkov(checkov: str, *args: str) -> dict:
    """checkov's JSON report; --skip-download keeps it offline (no Prisma Cloud guideline mappings)."""
    command = [checkov, *args, "--skip-download", "--output", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"`{' '.join(command)}` exited {result.returncode} without a JSON report:\n"
            f"{result.stdout[-5000:]}\n{result.stderr[-5000:]}"
        )
    if isinstance(report, list):  # one report per framework
        [report] = [r for r in report if r.get("check_type", "").startswith("terraform")]
    return report


def describe(check: dict) -> str:
    where = f"{check['file_path']}:{check['file_line_range']}"
    return f"{check['check_id']} {check['check_name']} - {check['resource']} ({where})"


def assert_clean(report: dict) -> None:
    """No failed check, no parsing error, and every skip carries its reason."""
    results = report["results"]
    assert not results.get("parsing_errors"), f"checkov could not parse: {results['parsing_errors']}"
    failed = results["failed_checks"]
    assert not failed, "checkov failed checks:\n" + "\n".join(describe(c) for c in failed)
    unjustified = [
        c
        for c in results["skipped_checks"]
        if len((c.get("check_result") or {}).get("suppress_comment", "").strip()) < 20
    ]
    assert not unjustified, "skips without a justification:\n" + "\n".join(describe(c) for c in unjustified)
