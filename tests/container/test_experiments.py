"""The experiments behind docs/efficiency.md's table of levers still run against the code as it is now.

Each runs on a small sample, as a subprocess with this interpreter, and must print its table or summary: a
renamed function, a changed signature or a broken argument would otherwise go unnoticed until someone
re-measures a lever. (measure_embedding.py takes no arguments and runs ~2 minutes; measure_wordllama.py needs
its own virtual environment: both are left to their docstrings.) The figures themselves are not checked: on
samples this small they mean nothing.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.container.helpers import CONTAINER, REPO

EXPERIMENTS = CONTAINER / "experiments"

# script, arguments, a line the output must hold
RUNS = [
    ("round1_search.py", "--noise 0 --seeds 1 --size 800 --searches shipped rate", "| 0% | rate |"),
    (
        "whole_runs.py",
        # batches of 600 on 1,500 items: every variant's rounds in ~20 s (the last batch split by `endgame`)
        "--seeds 1 --size 1500 --batch 600 --variants all difference combined stratified endgame --trace 50",
        "endgame   worst ",
    ),
    ("noisy_training.py", "--seeds 1 --size 2200 --cuts 0.05", "| pruned < 0.05 |"),
    ("measure_neighbours.py", "--noise 0 --seeds 1 --size 2200 --k 0 10", "| 0% | 10 |"),
    ("extension_honesty.py", "--runs 5 --rounds 2 --levels 0.95", "final claim missed"),
    ("measure.py", "--sizes 300 --seeds 0 --test-size 500", "| cross_fit"),
    ("long_texts.py", "--documents 80 --headlines 30", "| 80 | 30 |"),
]


def run_experiment(script: str, arguments: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(EXPERIMENTS / script), *arguments.split()],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(("script", "arguments", "expected"), RUNS, ids=[run[0] for run in RUNS])
def test_the_experiment_runs_on_a_small_sample(script, arguments, expected):
    result = run_experiment(script, arguments, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert expected in result.stdout, result.stdout[-3000:]


def test_a_sample_without_rows_to_predict_is_refused_by_name():
    result = run_experiment("noisy_training.py", "--size 2000", timeout=120)
    assert result.returncode == 2 and "--size: must exceed the 2,000 labeled rows" in result.stderr
