"""Fixtures for the embedded AWS tests: one server per test module (moto state is process-global),
a runtime-site folder standing in for the Lambda runtime's boto3, and helpers to build Lambda zips."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from local.embedded_aws import EmbeddedAWS

from .embedded_aws_helpers import ROLE, make_client

BLAZINGTEXT_STANDIN = Path(__file__).resolve().parents[2] / "containers" / "blazingtext-standin"
RUNTIME_DISTS = ["boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"]


def _copy_dist(dist_name: str, target: Path) -> None:
    """Copy an installed pure-Python distribution's files (package, modules, dist-info) into target."""
    dist = importlib.metadata.distribution(dist_name)
    tops: set[str] = set()
    for f in dist.files or []:
        first = f.parts[0]
        if first.endswith(".dist-info") or first == "__pycache__" or first.endswith(".data") or first == "..":
            continue
        tops.add(first)
    base = Path(dist.locate_file(""))
    for top in sorted(tops):
        src = base / top
        if src.is_dir():
            shutil.copytree(src, target / top, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy2(src, target / top)


@pytest.fixture(scope="session")
def runtime_site() -> Path:
    """What the Lambda runtime provides (boto3 & deps), built once per version set from this venv's
    installed copies (the same versions `pip install --no-deps --target` would fetch)."""
    versions = {d: importlib.metadata.version(d) for d in RUNTIME_DISTS}
    digest = hashlib.sha256(json.dumps(versions, sort_keys=True).encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / f"embedded-aws-runtime-site-{digest}"
    if not (cache / ".done").exists():
        tmp = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir=cache.parent))
        for dist in RUNTIME_DISTS:
            _copy_dist(dist, tmp)
        (tmp / ".done").write_text(json.dumps(versions))
        try:
            os.replace(tmp, cache)
        except OSError:  # built concurrently by another session
            shutil.rmtree(tmp, ignore_errors=True)
    return cache


FAKE_TRAIN = r"""
import json, os, sys, time
opt = os.environ["OPT_ML_DIR"]
hp = json.load(open(os.path.join(opt, "input/config/hyperparameters.json")))
channels = json.load(open(os.path.join(opt, "input/config/inputdataconfig.json")))
assert all(isinstance(v, str) for v in hp.values()), hp
print("hyperparameters", hp, "channels", sorted(channels), flush=True)
if hp.get("sleep"):
    time.sleep(float(hp["sleep"]))
if hp.get("fail") == "true":
    with open(os.path.join(opt, "output/failure"), "w") as f:
        f.write("ValueError: the training data has only one class")
    sys.exit(2)
train_dir = os.path.join(opt, "input/data/train")
rows = []
for root, _, files in os.walk(train_dir):
    for name in sorted(files):
        with open(os.path.join(root, name)) as f:
            rows += [json.loads(l) for l in f if l.strip()]
model = {"n_rows": len(rows), "default_label": hp.get("default_label", "pos"), "files": sorted(os.listdir(train_dir))}
with open(os.path.join(opt, "model/model.json"), "w") as f:
    json.dump(model, f)
print("#metric train:rows=%d" % len(rows), flush=True)
"""

FAKE_SERVE = r"""
import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
opt = os.environ["OPT_ML_DIR"]
model = json.load(open(os.path.join(opt, "model/model.json")))
REQUESTS = []

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        if self.path == "/ping":
            self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
        else:
            self.send_response(404); self.end_headers()
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        lines = [l for l in body.split("\n") if l.strip()]
        out = []
        for l in lines:
            rec = json.loads(l)
            if rec.get("text") == "boom":
                self.send_response(500); self.end_headers(); self.wfile.write(b"model exploded"); return
            out.append(json.dumps({"label": model["default_label"], "score": len(rec.get("text", "")),
                                   "batch": len(lines), "keys": sorted(rec)}))
        data = ("\n".join(out) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/jsonlines")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

ThreadingHTTPServer(("127.0.0.1", int(os.environ["SAGEMAKER_BIND_TO_PORT"])), H).serve_forever()
"""


@pytest.fixture(scope="session")
def fake_container(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("containers") / "fake-classifier"
    d.mkdir()
    (d / "train").write_text(FAKE_TRAIN)
    (d / "serve").write_text(FAKE_SERVE)
    for name in ("train", "serve"):
        (d / name).chmod(0o755)
    return d


@pytest.fixture(scope="session")
def answers_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("answers") / "answers.jsonl"
    p.write_text("".join(json.dumps({"key": f"n{i}", "label": i % 3}) + "\n" for i in range(60)))
    return p


@pytest.fixture(scope="module")
def server(tmp_path_factory, runtime_site, fake_container, answers_file):
    """One embedded AWS per test module, stopped after it: while one runs, this process's moto is patched,
    and other test directories use plain mock_aws."""
    state_dir = tmp_path_factory.mktemp("embedded-aws-state")
    config = {
        "runtime_site": str(runtime_site),
        "images": {"fake-classifier": str(fake_container), "blazingtext": str(BLAZINGTEXT_STANDIN)},
        "workforce": {
            "answers_file": str(answers_file),
            "key_field": "news-id",
            "worker_accuracy": 1.0,
            "workers_per_item": 1,
            "seed": 7,
        },
    }
    with EmbeddedAWS(state_dir=state_dir, config=config) as aws:
        # Like AWS, moto's CreateFunction needs an existing role that Lambda can assume.
        make_client(aws, "iam").create_role(
            RoleName=ROLE.rsplit("/", 1)[1],
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {
                                "Service": ["lambda.amazonaws.com", "states.amazonaws.com", "sagemaker.amazonaws.com"]
                            },
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
        yield aws


@pytest.fixture
def clients(server):
    class _Clients:
        def __getattr__(self, service):
            return make_client(server, {"sfn": "stepfunctions"}.get(service, service))

    return _Clients()
