"""One local deployment (embedded AWS + terraform apply) shared by every end-to-end test, and helpers."""

from __future__ import annotations

import json

import pytest

from local import runner
from local.deployment import LocalDeployment
from local.sample import KEY_FIELD, Dataset, make_sample


@pytest.fixture(scope="package")
def deployment(tmp_path_factory):
    """Package-scoped, not session-scoped: the embedded AWS holds this process's (global) moto state, so it
    must be stopped before tests/local starts its own."""
    with LocalDeployment(state_dir=tmp_path_factory.mktemp("local-state")) as deployed:
        yield deployed


def run_workflow(deployment, tmp_path, name, size, run_name=None, prelabeled=0.2, label_noise=0.0, **options):
    sample = make_sample(
        Dataset.bundled(),
        size,
        seed=options.pop("sample_seed", 5),
        prelabeled_fraction=prelabeled,
        label_noise=label_noise,
    )
    files = sample.write(tmp_path / "sample")
    options.setdefault("timeout_seconds", 900)  # a hang costs a quarter of an hour, not the runner's default hour
    run = runner.start(deployment, sample, runner.RunOptions(name=name, **options), files["answers"], run_name=run_name)
    return sample, run


def check_final_manifest(sample, summary):
    """Every input record exactly once, in input order, with all its fields and nothing internal; labels
    (where present) with valid Ground Truth metadata; the summary's counts are the manifest's."""
    with open(summary["local_final_manifest"], encoding="utf-8") as stream:
        final = [json.loads(line) for line in stream]
    assert [line[KEY_FIELD] for line in final] == [line[KEY_FIELD] for line in sample.manifest]
    for original, line in zip(sample.manifest, final, strict=True):
        assert {k: v for k, v in line.items() if not k.startswith("category")} == {
            k: v for k, v in original.items() if not k.startswith("category")
        }
        if "category" in line:
            meta = line["category-metadata"]
            assert meta["human-annotated"] in ("yes", "no")
            assert meta["class-name"] == sample.label_config["labels"][line["category"]]["label"]
    labeled = [line for line in final if "category" in line]
    human = sum(line["category-metadata"]["human-annotated"] == "yes" for line in labeled)
    assert (summary["items"], summary["human_labeled"], summary["auto_labeled"], summary["unlabeled"]) == (
        len(final),
        human,
        len(labeled) - human,
        len(final) - len(labeled),
    )
    return final
