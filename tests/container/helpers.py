"""Helpers for the text-classifier container tests: OPT_ML_DIR trees with real UCI News lines, `train` and
`serve` run as subprocesses with this interpreter (so the virtualenv's packages are used)."""

from __future__ import annotations

import csv
import gzip
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTAINER = REPO / "containers" / "text-classifier"
SAMPLE = REPO / "examples" / "uci-news" / "news-50k.csv.gz"
CLASSES = {"b": 0, "e": 1, "m": 2, "t": 3}
FOLDS = 5

if str(CONTAINER) not in sys.path:
    sys.path.insert(0, str(CONTAINER))


def _rows() -> list[dict]:
    """Every 40th row of the 50k sample (1,250 headlines of all four classes), interleaved so that every
    slice has every class."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8", newline="") as f:
        rows = [
            {"al:record-id": int(row["id"]), "source": row["title"], "label": CLASSES[row["category"]]}
            for i, row in enumerate(csv.DictReader(f))
            if i % 40 == 0
        ]
    return sorted(rows, key=lambda r: (r["al:record-id"] * 7919) % 10007)


ROWS = _rows()
TRAIN_ROWS = ROWS[:800]
TEST_ROWS = ROWS[800:1200]


def train_lines(with_folds: bool = True) -> list[dict]:
    """800 labeled lines; with folds, every fourth carries `al:fold` (the cross-fitted validation items)."""
    lines = []
    for i, row in enumerate(TRAIN_ROWS):
        line = dict(row)
        if with_folds and i % 4 == 0:
            line["al:fold"] = (i // 4) % FOLDS
        lines.append(line)
    return lines


def write_jsonl(path: Path, lines: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for line in lines:
            f.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    return path


def make_opt_ml(
    root: Path, train: list | None, *, validation: list | None = None, hyperparameters: dict | None = None
) -> Path:
    (root / "input" / "config").mkdir(parents=True, exist_ok=True)
    if hyperparameters is not None:
        (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    if train is not None:
        write_jsonl(root / "input" / "data" / "train" / "train.jsonl", train)
    if validation is not None:
        write_jsonl(root / "input" / "data" / "validation" / "validation.jsonl", validation)
    return root


def run_train(opt_ml: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPT_ML_DIR": str(opt_ml), "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, str(CONTAINER / "train")],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=str(CONTAINER),
    )


def failure_text(opt_ml: Path) -> str:
    path = opt_ml / "output" / "failure"
    assert path.is_file(), "train failed without writing output/failure"
    return path.read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    opt_ml: Path

    def connection(self, timeout: float = 30) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(
        self, method: str, path: str, body: bytes | str | None = None, headers: dict | None = None
    ) -> tuple[int, dict, bytes]:
        conn = self.connection()
        try:
            conn.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def invoke(self, lines: list, content_type: str = "application/jsonlines") -> tuple[int, bytes]:
        body = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
        status, _, data = self.request("POST", "/invocations", body, {"Content-Type": content_type})
        return status, data


def start_server(opt_ml: Path, env_extra: dict | None = None, wait: bool = True) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "OPT_ML_DIR": str(opt_ml),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
        **(env_extra or {}),
    }
    log = open(opt_ml / "serve.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, str(CONTAINER / "serve")], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(CONTAINER)
    )
    server = Server(proc, port, opt_ml)
    if wait:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited with {proc.returncode}: {(opt_ml / 'serve.log').read_text()}")
            try:
                if server.request("GET", "/ping")[0] == 200:
                    return server
            except OSError:
                pass
            time.sleep(0.1)
        proc.kill()
        raise AssertionError("serve did not answer /ping in 60 s")
    return server


def stop_server(server: Server) -> int:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
    return server.proc.returncode
