"""Session fixtures: one trained model directory (with fold models) and one running server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.container.helpers import TEST_ROWS, Server, make_opt_ml, run_train, start_server, stop_server, train_lines


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """OPT_ML_DIR of a successful training job with cross-fitting (5 fold models) and a validation channel."""
    opt_ml = make_opt_ml(
        tmp_path_factory.mktemp("opt_ml"),
        train_lines(),
        validation=TEST_ROWS[:100],
        hyperparameters={"num_classes": "4", "random_state": "0"},
    )
    result = run_train(opt_ml)
    assert result.returncode == 0, result.stderr
    (opt_ml / "train.stdout").write_text(result.stdout)
    return opt_ml


@pytest.fixture(scope="session")
def server(trained) -> Iterator[Server]:
    srv = start_server(trained)
    try:
        yield srv
    finally:
        stop_server(srv)
