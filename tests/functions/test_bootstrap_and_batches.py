import json

import pytest
from bootstrap_manifest.handler import lambda_handler as bootstrap
from prepare_human_batch.handler import lambda_handler as prepare_batch

from labeling_common.errors import InvalidInput, InvalidManifest
from tests.support import EXECUTION, make_config, manifest_records, uci_rows


@pytest.fixture
def rows():
    return uci_rows(200, seed=1)


def test_bootstrap_numbers_records_keeps_fields_and_never_touches_the_input(workspace, lambda_context, rows):
    records = manifest_records(rows, labeled_fraction=0.1)
    records[5]["category"] = 2  # a label without metadata: taken as a human label
    records[5].pop("category-metadata")
    workspace.put_lines("input/input.manifest", records)
    original = workspace.read_bytes(workspace.uri("input/input.manifest"))
    config = make_config(workspace)

    state = bootstrap({"config": config, "execution": EXECUTION}, lambda_context)

    assert state["counts"] == {"total": 200, "human": 20, "auto": 0, "unlabeled": 180, "validation": 0}
    assert state["step"] == 0 and state["working_manifest_uri"].endswith("working/manifest-00000-a1.jsonl")
    assert state["next"] == "human_batch" and state["pending_batch"] == {
        "kind": "bootstrap",
        "size": 20,
        "selection_uri": None,
    }
    working = workspace.read_lines(state["working_manifest_uri"])
    assert [r["al:record-id"] for r in working] == list(range(200))
    assert [r["news-id"] for r in working] == [r["news-id"] for r in records]
    assert working[5]["category-metadata"] == {
        "class-name": "Health & Medicine",
        "human-annotated": "yes",
        "type": "groundtruth/text-classification",
    }
    assert workspace.read_bytes(workspace.uri("input/input.manifest")) == original
    checkpoint = workspace.read_json(config["output_uri"] + "working/checkpoint.json")
    assert checkpoint["progress"] == state
    assert checkpoint["identity"]["input_manifest_uri"] == config["input_manifest_uri"]


def test_a_second_execution_on_the_same_output_path_resumes_from_the_checkpoint(workspace, lambda_context, rows):
    workspace.put_lines("input/input.manifest", manifest_records(rows))
    config = make_config(workspace)
    first = bootstrap({"config": config, "execution": EXECUTION}, lambda_context)
    assert bootstrap({"config": config, "execution": EXECUTION}, lambda_context) == first  # a retry: same attempt
    second = {"name": "second", "arn": EXECUTION["arn"].replace("test-execution", "second")}
    again = bootstrap({"config": config, "execution": second}, lambda_context)
    assert (again["run_id"], again["step"]) == (first["run_id"], 0)
    assert again["working_manifest_uri"] == first["working_manifest_uri"]
    assert (first["attempt"], again["attempt"]) == (1, 2)  # nothing recopied; a new attempt
    assert again["round_execution_name"] != first["round_execution_name"]
    assert workspace.keys("runs/run-1/working/") == [
        "runs/run-1/working/checkpoint.json",
        "runs/run-1/working/lock.json",
        "runs/run-1/working/manifest-00000-a1.jsonl",
    ]
    with pytest.raises(InvalidInput) as error:
        bootstrap({"config": {**config, "label_attribute": "topic"}, "execution": EXECUTION}, lambda_context)
    assert error.value.field == "$.OutputConfig.S3OutputPath"


@pytest.mark.parametrize("saved,expected", [({}, None), ({"certificate_round": 3}, 3)])
def test_a_resumed_run_keeps_the_round_whose_certificate_is_in_force(workspace, saved, expected):
    """A checkpoint written before re-certification names none: the next round certifies its auto-labels afresh
    (whatever its certificate covers, it replaces them)."""
    from bootstrap_manifest.logic import resumed_progress

    config = make_config(workspace)
    counts = {"total": 100, "human": 30, "auto": 40, "unlabeled": 30, "validation": 10}
    progress = {"run_id": "0123abcd", "attempt": 1, "step": 5, "working_manifest_uri": "s3://b/m.jsonl",
                "counts": counts, "round": 3, "validation_uri": "s3://b/v.jsonl", "pending_batch": None}  # fmt: skip
    identity = {"input_manifest_uri": "s3://b/in", "label_attribute": "category", "label_config_uri": "s3://b/c"}
    document = {"identity": identity, "progress": {**progress, **saved}}
    resumed = resumed_progress(config, document, EXECUTION["arn"], identity)
    assert resumed["certificate_round"] == expected and resumed["attempt"] == 2


@pytest.mark.parametrize(
    "key,field",
    [
        ("input/input.manifest", "$.InputConfig.DataSource.S3DataSource.ManifestS3Uri"),
        ("config/class_labels.json", "$.LabelCategoryConfigS3Uri"),
    ],
)
def test_an_input_edited_in_place_is_refused_on_resume(workspace, lambda_context, rows, key, field):
    """Same URI, other content: the run's record ids belong to the old content, so resuming would mislabel."""
    workspace.put_lines("input/input.manifest", manifest_records(rows))
    config = make_config(workspace)
    bootstrap({"config": config, "execution": EXECUTION}, lambda_context)

    def run_data():  # the lock changes hands (RecordFailure releases it); the run's data must not change
        keys = [k for k in workspace.keys("runs/run-1/working/") if not k.endswith("lock.json")]
        return {k: workspace.read_bytes(workspace.uri(k)) for k in keys}

    before = run_data()
    original = workspace.read_bytes(workspace.uri(key))
    if key.endswith(".manifest"):
        workspace.put_lines(key, manifest_records(list(reversed(rows))))  # the same records, reordered
    else:
        document = json.loads(original)
        document["labels"].reverse()
        workspace.put_json(key, document)
    second = {"name": "second", "arn": EXECUTION["arn"].replace("test-execution", "second")}
    with pytest.raises(InvalidInput, match="changed since this run started .* another S3OutputPath") as error:
        bootstrap({"config": config, "execution": second}, lambda_context)
    assert error.value.field == field
    assert run_data() == before  # nothing written
    workspace.put_bytes(key, original)  # the original content back: the run resumes
    assert bootstrap({"config": config, "execution": second}, lambda_context)["attempt"] == 2


@pytest.mark.parametrize(
    "bad_line,message",
    [
        (b'{"source": "ok"}\n{"source": "broken"\n', "not valid JSON"),
        (b'{"source": "ok"}\n{"title": "no source"}\n', "needs exactly one of 'source'"),
        (b'{"source": "ok"}\n{"source": "x", "category": 9}\n', "9 is greater than the maximum of 3"),
        (
            b'{"source": "ok"}\n{"source": "x", "topic": 1, "category-metadata": {"human-annotated": "yes"}}\n',
            "'category' is a dependency",
        ),
    ],
)
def test_bad_manifest_lines_are_named_and_nothing_is_written(workspace, lambda_context, bad_line, message):
    workspace.put_bytes("input/input.manifest", bad_line)
    with pytest.raises(InvalidManifest) as error:
        bootstrap({"config": make_config(workspace), "execution": EXECUTION}, lambda_context)
    assert error.value.field == "line 2"
    assert message in str(error.value)
    assert workspace.keys("runs/") == ["runs/run-1/working/lock.json"]  # only the lock (RecordFailure releases it)


def test_an_empty_manifest_is_refused(workspace, lambda_context):
    workspace.put_bytes("input/input.manifest", b"\n\n")
    with pytest.raises(InvalidInput, match="holds no records"):
        bootstrap({"config": make_config(workspace), "execution": EXECUTION}, lambda_context)
    assert workspace.keys("runs/") == ["runs/run-1/working/lock.json"]  # only the lock (RecordFailure releases it)


def test_bootstrap_batch_is_a_seeded_random_sample_of_unlabeled_records(workspace, lambda_context, rows):
    workspace.put_lines("input/input.manifest", manifest_records(rows, labeled_fraction=0.05))
    config = make_config(workspace)
    state = bootstrap({"config": config, "execution": EXECUTION}, lambda_context)
    batch = prepare_batch({"config": config, "progress": state}, lambda_context)
    assert batch["record_count"] == 30 and batch["kind"] == "bootstrap"
    assert batch["job_name"] == f"news-{state['run_id']}-h0001"
    sent = workspace.read_lines(batch["batch_manifest_uri"])
    ids = [r["al:record-id"] for r in sent]
    assert ids == sorted(ids) and all(i >= 10 for i in ids)  # manifest order, unlabeled only
    assert ids != list(range(10, 40))  # not "first N in file order" as the AWS sample did
    assert {"source", "news-id", "publisher", "al:record-id"} == set(sent[0])
    again = prepare_batch({"config": config, "progress": state}, lambda_context)
    assert again == batch  # a retry rewrites the same batch
    assert workspace.read_lines(again["batch_manifest_uri"]) == sent
    other_seed = prepare_batch({"config": {**config, "seed": 8}, "progress": state}, lambda_context)
    assert [r["al:record-id"] for r in workspace.read_lines(other_seed["batch_manifest_uri"])] != ids


def test_selection_batch_takes_the_first_selected_ids(workspace, lambda_context, rows):
    workspace.put_lines("input/input.manifest", manifest_records(rows))
    config = make_config(workspace)
    state = bootstrap({"config": config, "execution": EXECUTION}, lambda_context)
    selection_uri = workspace.put_lines(
        "runs/run-1/rounds/round-001-a1/selection.jsonl", [{"al:record-id": i, "priority": -i} for i in (150, 3, 77, 9)]
    )
    state = {
        **state,
        "next": "human_batch",
        "pending_batch": {"kind": "selection", "size": 3, "selection_uri": selection_uri},
    }
    batch = prepare_batch({"config": config, "progress": state}, lambda_context)
    assert [r["al:record-id"] for r in workspace.read_lines(batch["batch_manifest_uri"])] == [3, 77, 150]


def test_a_batch_whose_answers_were_already_delivered_is_not_asked_again(workspace, lambda_context, rows):
    workspace.put_lines("input/input.manifest", manifest_records(rows))
    config = make_config(workspace)
    state = bootstrap({"config": config, "execution": EXECUTION}, lambda_context)
    batch = prepare_batch({"config": config, "progress": state}, lambda_context)
    assert batch["existing_answers_uri"] is None
    workspace.put_bytes(batch["answer_uri"][len("s3://labeling-bucket/") :], b"")  # an earlier execution got them
    again = prepare_batch({"config": config, "progress": state}, lambda_context)
    assert again["existing_answers_uri"] == batch["answer_uri"]
    gt = prepare_batch({"config": {**config, "labeling_backend": "ground_truth"}, "progress": state}, lambda_context)
    assert gt["existing_answers_uri"] is None  # Ground Truth output is looked for in the job's output manifest


@pytest.mark.parametrize("body,message", [(None, "no such object"), (b"\xff\xfe broken", "not UTF-8 text")])
def test_a_batch_holding_an_unreadable_source_ref_is_refused_before_anyone_labels(
    workspace, lambda_context, body, message
):
    """A source-ref that is missing or not UTF-8 is named with its record before the batch goes to people
    (not after they labeled, at the round's first read); no batch manifest is written."""
    from labeling_common.errors import InvalidManifest

    for i in range(19):
        workspace.put_bytes(f"texts/{i}.txt", f"headline {i}".encode())
    if body is not None:
        workspace.put_bytes("texts/19.txt", body)
    workspace.put_lines("input/input.manifest", [{"source-ref": workspace.uri(f"texts/{i}.txt")} for i in range(20)])
    config = make_config(workspace, bootstrap_fraction=1.0)
    state = bootstrap({"config": config, "execution": EXECUTION}, lambda_context)
    with pytest.raises(InvalidManifest, match=message) as error:
        prepare_batch({"config": config, "progress": state}, lambda_context)
    assert error.value.field == "record 19 (source-ref)" and "texts/19.txt" in str(error.value)
    assert not [key for key in workspace.keys("runs/run-1/") if "/batches/" in key]
