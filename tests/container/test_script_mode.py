"""The bundled preset on the SageMaker scikit-learn image: the source archive, and train.py / inference.py
run by the image's stand-in with the image's Python and libraries (build/sagemaker-sklearn-image)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.container.helpers import CONTAINER, REPO, TEST_ROWS, free_port, make_opt_ml, train_lines

ARCHIVE = REPO / "build" / "sagemaker" / "text-classifier-source.tar.gz"
IMAGE_PYTHON = REPO / "build" / "sagemaker-sklearn-image" / "bin" / "python"
STANDIN = REPO / "containers" / "sklearn-framework-standin"
TOOLKIT = {"sagemaker_program": "train.py", "sagemaker_submit_directory": "/opt/ml/input/data/code/sourcedir.tar.gz"}
# The bundled preset's model environment (terraform/locals.tf; terraform/tests check it there).
SERVING = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "application/jsonlines",
    "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600",
    "PIP_NO_INDEX": "1",
    "PIP_FIND_LINKS": "/opt/ml/code/wheels",
}


@pytest.fixture(scope="module", autouse=True)
def built() -> None:
    if not ARCHIVE.is_file() or not IMAGE_PYTHON.is_file():
        pytest.fail("run `make build sagemaker-sklearn-image` first (make test does)", pytrace=False)


def image_env(**extra: str) -> dict[str, str]:
    # Nothing from the development setup leaks in: the archive brings its own embedding model.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXT_CLASSIFIER_EMBEDDING_MODEL")}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def script_mode_job(root: Path, hyperparameters: dict) -> Path:
    opt_ml = make_opt_ml(
        root, train_lines(), validation=TEST_ROWS[:100], hyperparameters={**TOOLKIT, **hyperparameters}
    )
    (opt_ml / "input" / "data" / "code").mkdir(parents=True)
    shutil.copy(ARCHIVE, opt_ml / "input" / "data" / "code" / "sourcedir.tar.gz")
    return opt_ml


def run_standin_train(opt_ml: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(IMAGE_PYTHON), str(STANDIN / "train")],
        env=image_env(OPT_ML_DIR=str(opt_ml)),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    opt_ml = script_mode_job(tmp_path_factory.mktemp("script_mode"), {"num_classes": "4", "random_state": "0"})
    result = run_standin_train(opt_ml)
    assert result.returncode == 0, result.stderr
    return opt_ml


def test_the_archive_is_byte_reproducible_and_holds_the_code_the_model_and_what_the_image_lacks(tmp_path):
    script = CONTAINER / "build_source_archive.py"
    args = ["--vendor-wheels", str(REPO / "build" / "sagemaker" / "vendor-wheels")]
    args += ["--embedding-model", str(REPO / "build" / "embedding-model")]
    args += ["--install-wheels", str(REPO / "build" / "sagemaker" / "install-wheels")]
    # built again here, in another process at another time, against the one `make build` wrote
    rebuilt = tmp_path / "again.tar.gz"
    subprocess.run([sys.executable, str(script), *args, "--out", str(rebuilt)], check=True, capture_output=True)
    assert hashlib.sha256(rebuilt.read_bytes()).hexdigest() == hashlib.sha256(ARCHIVE.read_bytes()).hexdigest()
    with tarfile.open(ARCHIVE) as archive:
        members = archive.getmembers()
    names = {m.name for m in members}
    assert {"train.py", "inference.py", "image-libraries.txt", "text_classifier/model.py"} <= names
    assert any(n.startswith("wheels/setuptools-") and n.endswith(".whl") for n in names)
    assert {
        "embedding-model/model.onnx",
        "embedding-model/tokenizer.json",
        "embedding-model/embedding-model.json",
    } <= names
    top_vendored = {n.split("/")[1] for n in names if n.startswith("vendor/")}
    assert {"onnxruntime", "tokenizers", "google", "flatbuffers"} <= top_vendored
    assert not top_vendored & {"numpy", "scipy", "sklearn", "torch", "huggingface_hub"}  # the image's, or unneeded
    assert all(m.mtime == members[0].mtime and m.uid == 0 and m.mode == 0o644 for m in members)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_training_runs_on_the_image_libraries_and_puts_the_code_into_the_model(trained):
    model = trained / "model"
    manifest = json.loads((model / "model.json").read_text())
    libraries = dict(
        line.split(" ", 1)[0].split("==")
        for line in (CONTAINER / "sagemaker" / "image-libraries.txt").read_text().splitlines()
        if "==" in line
    )
    assert manifest["versions"]["scikit-learn"] == libraries["scikit-learn"]
    assert manifest["versions"]["numpy"] == libraries["numpy"]
    assert manifest["params"]["num_classes"] == 4  # the toolkit's own sagemaker_* keys were not read as ours
    described = json.loads((REPO / "build" / "embedding-model" / "embedding-model.json").read_text())
    assert manifest["versions"]["embedding-model"] == f"sha256:{described['sha256']['model.onnx']}"
    assert {p.name for p in (model / "code").iterdir()} >= {
        "inference.py",
        "text_classifier",
        "embedding-model",
        "vendor",
    }
    assert (trained / "output" / "success").exists()


def test_a_bad_hyperparameter_fails_the_job_with_the_scripts_own_reason(tmp_path):
    opt_ml = script_mode_job(tmp_path, {"num_classes": "4", "epochs": "3"})
    result = run_standin_train(opt_ml)
    assert result.returncode == 1
    reason = (opt_ml / "output" / "failure").read_text()
    assert reason.startswith("Invalid training input: invalid hyperparameters") and "epochs" in reason


def test_a_missing_entry_point_is_a_framework_error(tmp_path):
    opt_ml = script_mode_job(tmp_path, {"sagemaker_program": "nowhere.py"})
    assert run_standin_train(opt_ml).returncode == 1
    assert "ExecuteUserScriptError: ExitCode 2" in (opt_ml / "output" / "failure").read_text()


class Endpoint:
    def __init__(self, model: Path, root: Path):
        (root / "model").mkdir(parents=True)
        shutil.copytree(model, root / "model", dirs_exist_ok=True)
        self.port = free_port()
        env = image_env(OPT_ML_DIR=str(root), SAGEMAKER_BIND_TO_PORT=str(self.port), **SERVING)
        self.root = root
        with open(root / "serve.log", "wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen([str(IMAGE_PYTHON), str(STANDIN / "serve")], env=env, stderr=log)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                assert self.request("GET", "/ping")[0] == 200
                return
            except OSError:
                assert time.monotonic() < deadline and self.proc.poll() is None, (self.root / "serve.log").read_text()
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body, headers or {})
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type") or "", response.read()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def endpoint(trained, tmp_path_factory):
    server = Endpoint(trained / "model", tmp_path_factory.mktemp("serve"))
    yield server
    server.stop()


def test_the_servers_start_up_install_of_the_code_builds_offline(endpoint):
    """The image's server pip-installs the code folder before importing it; with network isolation that must
    work without an index: the build backend comes from the archive's wheels/ (PIP_FIND_LINKS, PIP_NO_INDEX).
    The stand-in's interpreter has no setuptools, so the install succeeded only through those wheels."""
    assert subprocess.run([str(IMAGE_PYTHON), "-c", "import setuptools"], capture_output=True).returncode != 0
    installed = list((endpoint.root / "pip-prefix").rglob("inference.py"))
    assert installed and (installed[0].parent / "text_classifier" / "model.py").is_file()


def test_inference_answers_json_lines_one_line_per_record_in_order(endpoint):
    records = [{"source": row["source"]} for row in TEST_ROWS[:50]]
    body = "".join(json.dumps(r) + "\n" for r in records).encode()
    status, content_type, payload = endpoint.request(
        "POST", "/invocations", body, {"Content-Type": "application/jsonlines", "Accept": "application/jsonlines"}
    )
    assert status == 200 and content_type == "application/jsonlines"
    lines = [json.loads(line) for line in payload.decode().splitlines()]
    assert len(lines) == 50
    assert all(
        sorted(line["label"]) == [0, 1, 2, 3] and line["prob"] == sorted(line["prob"], reverse=True) for line in lines
    )
    right = sum(line["label"][0] == row["label"] for line, row in zip(lines, TEST_ROWS[:50], strict=True))
    assert right >= 40  # a trained model, not a constant
    # no Accept header: the model's SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT
    assert endpoint.request("POST", "/invocations", body, {"Content-Type": "application/jsonlines"})[0] == 200


def test_bad_requests_fail_naming_the_line_or_the_type(endpoint):
    status, _, payload = endpoint.request(
        "POST", "/invocations", b'{"source": "ok"}\n{"source": 3}\n', {"Content-Type": "application/jsonlines"}
    )
    assert status == 500 and b"line 2" in payload and b'"source" must be a string' in payload
    status, _, payload = endpoint.request("POST", "/invocations", b"a,b\n", {"Content-Type": "text/csv"})
    assert status == 500 and b"unsupported Content-Type 'text/csv'" in payload


def test_library_differences_name_each_library_that_is_not_the_measured_version(tmp_path):
    sys.path.insert(0, str(CONTAINER))
    from text_classifier import script_mode

    (tmp_path / "image-libraries.txt").write_text("pytest==0.0.1 \\\n    --hash=sha256:00\nnot-installed-here==1.0\n")
    differences = script_mode.library_differences(tmp_path)
    assert differences[0].startswith("pytest ") and differences[0].endswith("(local mode: 0.0.1)")
    assert differences[1] == "not-installed-here missing (local mode: 1.0)"
    assert script_mode.library_differences(tmp_path / "nowhere") == [
        f"{tmp_path / 'nowhere' / 'image-libraries.txt'} is missing"
    ]
