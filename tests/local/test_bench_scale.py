"""`make bench-scale` chains every manifest-handling Lambda as the state machines call them; nothing else runs
that harness, so a change to the loop's rules (a bootstrap the pre-labels already cover) once broke it unseen."""

import json
import os

import pytest

from labeling_common.aws import reset_clients
from local import bench_scale


@pytest.fixture
def own_environment():
    """The harness points this process's AWS clients at its embedded AWS (os.environ); a test after this one in
    the same worker must not inherit that endpoint once the server is gone."""
    names = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    before = {name: os.environ.get(name) for name in names}
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_clients()


def test_the_scale_bench_runs_every_manifest_function_and_measures_each(tmp_path, monkeypatch, own_environment):
    monkeypatch.setattr(bench_scale, "STATE_DIR", tmp_path / "state")
    assert bench_scale.main(["--lines", "2000", "--out", str(tmp_path / "out")]) == 0
    result = json.loads((tmp_path / "out" / "bench-scale.json").read_text())
    functions = result["runs"]["2000"]["functions"]
    assert set(functions) == {
        "validate_input", "bootstrap_manifest", "create_validation_set", "prepare_training", "prepare_inference",
        "select_and_auto_label", "merge_labels(auto)", "prepare_human_batch", "merge_labels(human)", "export_final",
    }  # fmt: skip
    assert all(m["seconds"] > 0 and m["peak_mb"] > 0 for m in functions.values())
