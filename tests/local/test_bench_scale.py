"""`make bench-scale` chains every manifest-handling Lambda as the state machines call them; nothing else runs
that harness, so a change to the loop's rules (a bootstrap the pre-labels already cover) once broke it unseen."""

import json

from local import bench_scale


def test_the_scale_bench_runs_every_manifest_function_and_measures_each(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_scale, "STATE_DIR", tmp_path / "state")
    assert bench_scale.main(["--lines", "2000", "--out", str(tmp_path / "out")]) == 0
    result = json.loads((tmp_path / "out" / "bench-scale.json").read_text())
    functions = result["runs"]["2000"]["functions"]
    assert set(functions) == {
        "validate_input", "bootstrap_manifest", "create_validation_set", "prepare_training", "prepare_inference",
        "select_and_auto_label", "merge_labels(auto)", "prepare_human_batch", "merge_labels(human)", "export_final",
    }  # fmt: skip
    assert all(m["seconds"] > 0 and m["peak_mb"] > 0 for m in functions.values())
