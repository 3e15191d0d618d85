"""Headless Chromium through Playwright, for the tests that look at what a person sees (the labeling page,
the run report). CI installs Chromium (.ci/run); without it or playwright those tests skip and say why."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    expect = sync_playwright = None

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build"  # where the docs' screenshots are taken from
CHROMIUM = shutil.which("chromium")
# Headless, and quiet on this closed network: without the background-networking flags Chromium's own
# connections (updates, sync, QUIC probes) are refused and slow it down.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = [
    what
    for what, there in (
        ("the Python package playwright (requirements/dev.txt)", sync_playwright is not None),
        ("Chromium (apt-get install -y chromium)", CHROMIUM is not None),
    )
    if not there
]


@contextlib.contextmanager
def chromium_page(width: int, height: int) -> Iterator:
    """A page of a fresh headless Chromium (its own throw-away profile), closed afterwards."""
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        browser = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            yield browser.pages[0]
        finally:
            browser.close()
