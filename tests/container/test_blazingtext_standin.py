"""The BlazingText stand-in (containers/blazingtext-standin): the RecordIO stream the emulator writes and the
stand-in reads, hyperparameters, early stopping, training and serving as processes."""

from __future__ import annotations

import http.client
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local.embedded_aws.sagemaker_jobs import recordio_record
from tests.container.helpers import ROWS, free_port

STANDIN = Path(__file__).resolve().parents[2] / "containers" / "blazingtext-standin"
sys.path.insert(0, str(STANDIN))

from blazingtext_standin import recordio, server, training  # noqa: E402

SAMPLE_HPS = {  # the blazingtext preset's (terraform/locals.tf), with few buckets to keep the test model small
    "mode": "supervised",
    "epochs": "20",
    "early_stopping": "True",
    "patience": "5",
    "min_epochs": "1",
    "learning_rate": "0.05",
    "min_count": "5",
    "vector_dim": "20",
    "word_ngrams": "2",
    "buckets": "100000",
}


def stream(items: list[tuple[str, object]]) -> bytes:
    """What the emulator streams for an augmented manifest with AttributeNames [source, label]."""
    return b"".join(
        recordio_record(text.encode()) + recordio_record(json.dumps(label).encode()) for text, label in items
    )


# --- RecordIO ------------------------------------------------------------------------------------------


def test_recordio_round_trip_with_padding_and_empty_records():
    payloads = [b"", b"a", b"ab", b"abc", b"abcd", "caf\u00e9 \u2014 ok".encode()]
    data = b"".join(recordio_record(p) for p in payloads)
    assert len(data) % 4 == 0
    assert list(recordio.records(io.BytesIO(data))) == payloads


def test_recordio_joins_split_records():
    def part(flag: int, payload: bytes) -> bytes:
        header = recordio.MAGIC.to_bytes(4, "little") + ((flag << 29) | len(payload)).to_bytes(4, "little")
        return header + payload + b"\0" * (-len(payload) % 4)

    data = part(1, b"he") + part(2, b"ll") + part(3, b"o!") + part(0, b"next")
    assert list(recordio.records(io.BytesIO(data))) == [b"hello!", b"next"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00" * 8, "no RecordIO magic at offset 0"),
        (recordio_record(b"abcdef")[:10], "ends inside a record"),
        (recordio_record(b"x")[:5], "ends inside a record header"),
    ],
)
def test_recordio_refuses_what_is_not_recordio(data, message):
    with pytest.raises(recordio.RecordIOError, match=message):
        list(recordio.records(io.BytesIO(data)))


def test_attribute_tuples_regroup_lines_and_refuse_a_cut_line():
    data = stream([("one", 0), ("two", "sports")])
    assert list(recordio.attribute_tuples(io.BytesIO(data), 2)) == [(b"one", b"0"), (b"two", b'"sports"')]
    with pytest.raises(recordio.RecordIOError, match="1 of 2 attribute records"):
        list(recordio.attribute_tuples(io.BytesIO(data + recordio_record(b"three")), 2))


def test_examples_read_labels_as_blazingtext_names_them(tmp_path):
    channel = tmp_path / "train_0"
    channel.write_bytes(stream([("Stocks  rally\nagain", 2), ("Team wins", "sports"), ("x", 1.0)]))
    assert list(training.examples(channel)) == [("2", "Stocks rally again"), ("sports", "Team wins"), ("1", "x")]
    channel.write_bytes(stream([("bad", [1, 2])]))
    with pytest.raises(training.AlgorithmError, match="one integer or word"):
        list(training.examples(channel))


# --- hyperparameters -------------------------------------------------------------------------------------


def test_hyperparameters_defaults_are_blazingtexts():
    params = training.Hyperparameters.parse({"mode": "supervised"})
    assert (params.epochs, params.learning_rate, params.vector_dim, params.word_ngrams, params.buckets) == (
        5,
        0.05,
        100,
        2,
        2_000_000,
    )
    assert (params.early_stopping, params.patience, params.min_epochs, params.min_count) == (False, 4, 5, 5)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "mode must be 'supervised'"),
        ({"mode": "skipgram"}, "mode must be 'supervised'"),
        ({"mode": "supervised", "window_size": "5"}, "unknown hyperparameters for supervised mode: window_size"),
        ({"mode": "supervised", "epochs": "ten"}, "epochs must be a int"),
        ({"mode": "supervised", "early_stopping": "yes"}, "early_stopping must be a bool"),
        ({"mode": "supervised", "vector_dim": "0"}, "vector_dim must be a positive integer"),
        ({"mode": "supervised", "learning_rate": "-1"}, "learning_rate must be positive"),
    ],
)
def test_hyperparameters_refuse_what_blazingtext_refuses(raw, message):
    with pytest.raises(training.AlgorithmError, match=message):
        training.Hyperparameters.parse(raw)


def test_a_run_stopped_early_takes_the_step_sizes_of_blazingtexts_schedule():
    params = training.Hyperparameters.parse(SAMPLE_HPS)
    assert params.fasttext_arguments(20)["lr"] == pytest.approx(0.05)  # the whole run: BlazingText's own
    # e epochs of a run decaying from lr to 0 over E epochs average lr (1 - e / 2E); a fresh run of e epochs
    # averages half its starting rate.
    for e in (1, 5, 13):
        assert params.fasttext_arguments(e)["lr"] / 2 == pytest.approx(0.05 * (1 - e / 40))
    assert params.fasttext_arguments(3)["thread"] == 1


# --- training and serving ---------------------------------------------------------------------------------


def make_opt_ml(root: Path, hps: dict, *, validation: bool = True) -> Path:
    items = [(row["source"], row["label"]) for row in ROWS]
    (root / "input" / "config").mkdir(parents=True)
    (root / "input" / "data").mkdir()
    (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hps))
    channels = ["train", "validation"] if validation else ["train"]
    config = {name: {"TrainingInputMode": "Pipe", "RecordWrapperType": "RecordIO"} for name in channels}
    (root / "input" / "config" / "inputdataconfig.json").write_text(json.dumps(config))
    (root / "input" / "data" / "train_0").write_bytes(stream(items[:-250]))
    if validation:
        (root / "input" / "data" / "validation_0").write_bytes(stream(items[-250:]))
    return root


def run(root: Path, command: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPT_ML_DIR": str(root)}
    return subprocess.run(
        [sys.executable, str(STANDIN / command)], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_early_stopping_keeps_the_best_epoch_count_and_stops_after_patience(tmp_path):
    result = run(make_opt_ml(tmp_path, SAMPLE_HPS), "train")
    assert result.returncode == 0, result.stderr
    scores = {}  # epoch count -> validation accuracy (None: fastText could not train it, see below)
    for line in result.stderr.splitlines():
        if "validation accuracy=" in line or " skipped: " in line:
            epochs = int(line.split("epochs=", 1)[1].split()[0])
            scores[epochs] = float(line.rsplit("=", 1)[1]) if "accuracy=" in line else None
    assert list(scores) == list(range(1, len(scores) + 1))
    best = max(score for score in scores.values() if score is not None)
    assert f"#validation_accuracy: {best:.4f}" in result.stdout
    first_best = min(epochs for epochs, score in scores.items() if score == best)
    # it went on `patience` epochs past the best (or to the last epoch), never further
    assert len(scores) == min(20, first_best + 5)
    assert (tmp_path / "model" / "model.bin").stat().st_size > 0


def test_an_epoch_count_fasttext_cannot_train_counts_as_no_better(monkeypatch, tmp_path):
    """fastText stops some runs on NaN whatever the attempt (it depends on the process); early stopping goes on."""
    trained = []

    def fake(train_file, arguments):
        if arguments["epoch"] == 2:
            raise training.Diverged("fastText stopped on NaN in all 5 attempts")
        trained.append(arguments["epoch"])
        return arguments["epoch"]  # a "model" whose validation accuracy is set below

    monkeypatch.setattr(training, "train_supervised", fake)
    monkeypatch.setattr(training, "accuracy", lambda model, items: {1: 0.5, 3: 0.7}.get(model, 0.6))
    params = training.Hyperparameters(epochs=20, early_stopping=True, patience=3, min_epochs=1)
    assert training.fit(params, tmp_path / "t.txt", [("1", "x")]) == 3  # 2 skipped, then 4-6 bring nothing better
    assert trained == [1, 3, 4, 5, 6]

    def diverges(train_file, arguments):
        raise training.Diverged("fastText stopped on NaN in all 5 attempts")

    monkeypatch.setattr(training, "train_supervised", diverges)
    with pytest.raises(training.Diverged, match="every epoch count up to 3"):
        training.fit(training.Hyperparameters(epochs=3, early_stopping=True), tmp_path / "t.txt", [("1", "x")])


def test_a_nan_run_is_trained_again_and_other_errors_are_not(monkeypatch, tmp_path):
    import fasttext

    calls = []

    def flaky(**arguments):
        calls.append(arguments)
        if len(calls) < 3:
            raise RuntimeError("Encountered NaN.")
        return "model"

    monkeypatch.setattr(fasttext, "train_supervised", flaky)
    assert training.train_supervised(tmp_path / "train.txt", {"lr": 0.1}) == "model"
    assert len(calls) == 3

    def broken(**arguments):
        raise RuntimeError("cannot open file")

    monkeypatch.setattr(fasttext, "train_supervised", broken)
    with pytest.raises(RuntimeError, match="cannot open file") as raised:
        training.train_supervised(tmp_path / "train.txt", {})
    assert not isinstance(raised.value, training.Diverged)

    calls.clear()
    monkeypatch.setattr(fasttext, "train_supervised", flaky)
    monkeypatch.setattr(training, "NAN_RETRIES", 2)  # both attempts stop on NaN
    with pytest.raises(training.Diverged, match="all 2 attempts"):
        training.train_supervised(tmp_path / "train.txt", {})
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("hps", "validation", "message"),
    [
        ({**SAMPLE_HPS, "mode": "cbow"}, True, "mode must be 'supervised'"),
        (SAMPLE_HPS, False, "early_stopping needs a validation channel"),
    ],
)
def test_training_failures_are_written_where_sagemaker_reads_them(tmp_path, hps, validation, message):
    result = run(make_opt_ml(tmp_path, hps, validation=validation), "train")
    assert result.returncode == 1
    assert message in (tmp_path / "output" / "failure").read_text()
    assert not (tmp_path / "model" / "model.bin").exists()


def test_a_fasttext_error_is_written_where_sagemaker_reads_it(monkeypatch, tmp_path):
    import fasttext

    def broken(**arguments):
        raise RuntimeError("Encountered NaN.")  # on every attempt: past the retries

    monkeypatch.setattr(fasttext, "train_supervised", broken)
    monkeypatch.setenv("OPT_ML_DIR", str(make_opt_ml(tmp_path, {**SAMPLE_HPS, "early_stopping": "False"})))
    assert training.main() == 1
    assert (tmp_path / "output" / "failure").read_text() == "Diverged: fastText stopped on NaN in all 5 attempts"
    assert not (tmp_path / "model" / "model.bin").exists()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = make_opt_ml(tmp_path_factory.mktemp("bt"), {**SAMPLE_HPS, "early_stopping": "False"})
    assert run(root, "train").returncode == 0
    port = free_port()
    env = {**os.environ, "OPT_ML_DIR": str(root), "SAGEMAKER_BIND_TO_PORT": str(port)}
    process = subprocess.Popen([sys.executable, str(STANDIN / "serve")], env=env, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/ping")
            if connection.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.05)
    yield port
    process.terminate()
    process.wait(timeout=10)


def post(port: int, body: bytes, content_type: str = "application/jsonlines") -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/invocations", body=body, headers={"Content-Type": content_type})
    response = connection.getresponse()
    return response.status, response.read().decode()


def test_serve_answers_each_line_in_blazingtexts_shape(served):
    lines = [{"source": "Stocks fall as oil rises", "k": 1000000}, {"source": "New phone released"}, {"source": ""}]
    status, text = post(served, "".join(json.dumps(line) + "\n" for line in lines).encode())
    assert status == 200
    answers = [json.loads(line) for line in text.splitlines()]
    assert len(answers) == 3
    assert len(answers[0]["label"]) == len(answers[0]["prob"]) == 4  # k beyond the classes: every class
    assert all(label.startswith("__label__") for label in answers[0]["label"])
    assert answers[0]["prob"] == sorted(answers[0]["prob"], reverse=True)
    assert sum(answers[0]["prob"]) == pytest.approx(1.0, abs=1e-3)
    assert len(answers[1]["label"]) == 1  # k defaults to 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b'{"text": "no source"}\n', "application/jsonlines", 400, "line 1: an object with a string 'source'"),
        (b'{"source": "a", "k": 0}\n', "application/jsonlines", 400, "line 1: k must be a positive integer"),
        (b"not json\n", "application/jsonlines", 400, "line 1 is not JSON"),
        (b"a,b\n", "text/csv", 415, "send application/jsonlines"),
    ],
)
def test_serve_refuses_requests_it_cannot_answer(served, body, content_type, status, message):
    got, text = post(served, body, content_type)
    assert got == status
    assert message in json.loads(text)["error"]


def test_predict_lines_keeps_the_order_of_mixed_k():
    class Model:
        labels = ["__label__0", "__label__1", "__label__2"]

        def predict(self, texts, k):
            return [self.labels[:k] for _ in texts], [[0.5] * k for _ in texts]

    body = b'{"source": "a", "k": 2}\n{"source": "b"}\n{"source": "c", "k": 9}\n'
    answers = [json.loads(line) for line in server.predict_lines(Model(), body).decode().splitlines()]
    assert [len(answer["label"]) for answer in answers] == [2, 1, 3]
