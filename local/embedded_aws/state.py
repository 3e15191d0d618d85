"""Process-wide state of the embedded AWS extension.

moto keeps its backends in module-level globals, so one process holds one embedded AWS at a time; this
module holds what the patches need beside moto: the endpoint URL, the state directory, the live launcher
config (its file read again on every use), boto3 clients against the endpoint, and JSON-Lines records.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOG = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parents[2]

#: Every key the launcher config understands, with its default (README.md documents each).
DEFAULT_CONFIG: dict[str, Any] = {
    "region": "us-east-1",
    # Folder of pure-Python packages standing in for what the Lambda runtime provides (boto3 & deps).
    "runtime_site": None,
    # {"python3.12": "/path/to/python3.12"}: interpreter per Lambda runtime (else env/PATH/pyenv lookup).
    "lambda_python": {},
    # At most this many Lambda subprocesses at once (0 = no limit, like Lambda's default).
    "lambda_max_concurrency": 0,
    # Image repository name -> local container directory (with executables `train` and `serve`), or
    # {"dir": ..., "python": ...} for an image whose interpreter differs from container_python.
    # text-classifier: the bundled_image preset's own image.
    # sagemaker-scikit-learn: the region's scikit-learn framework image (bundled preset), run by its stand-in
    # with that image's Python and libraries (make sagemaker-sklearn-image).
    # blazingtext: the region's BlazingText algorithm image (blazingtext preset), run by its local stand-in.
    "images": {
        "text-classifier": str(REPO_ROOT / "containers" / "text-classifier"),
        "sagemaker-scikit-learn": {
            "dir": str(REPO_ROOT / "containers" / "sklearn-framework-standin"),
            "python": str(REPO_ROOT / "build" / "sagemaker-sklearn-image" / "bin" / "python"),
        },
        "blazingtext": str(REPO_ROOT / "containers" / "blazingtext-standin"),
    },
    # Environment added to every container process (train and serve). The defaults give the bundled container
    # its exported sentence-embedding model (make embedding-model), and one cache folder for its vectors, so
    # each text is embedded once across jobs and runs.
    "container_environment": {
        "TEXT_CLASSIFIER_EMBEDDING_MODEL": str(REPO_ROOT / "build" / "embedding-model"),
        "TEXT_CLASSIFIER_EMBEDDING_CACHE": str(REPO_ROOT / "build" / "embedding-cache"),
    },
    # Python that runs a container's `train`/`serve` (default: the interpreter running the server).
    "container_python": None,
    "serve_start_timeout_seconds": 120,
    # SIGTERM -> SIGKILL grace for a training job past MaxRuntimeInSeconds (AWS gives 120 s).
    "stop_grace_seconds": 5,
    # Keep each job's stand-in for /opt/ml under <state_dir>/sagemaker/ after it ends (debugging).
    "keep_job_dirs": False,
    # Simulated Ground Truth workforce (see workforce.py); None -> labeling jobs fail with a clear reason.
    "workforce": None,
}


def utc_now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class _State:
    def __init__(self) -> None:
        self.endpoint_url: str | None = None
        self.state_dir: Path | None = None
        self.config_path: Path | None = None
        self.overrides: dict[str, Any] = {}
        self.stopping = threading.Event()
        self._lock = threading.RLock()
        self._jsonl_lock = threading.Lock()
        self._config_cache: tuple[Any, dict[str, Any]] | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._session = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def activate(self, endpoint_url: str, state_dir: Path, config_path: Path, overrides: dict) -> None:
        with self._lock:
            self.endpoint_url = endpoint_url
            self.state_dir = Path(state_dir)
            self.config_path = Path(config_path)
            self.overrides = dict(overrides)
            self._config_cache = None
            self._clients.clear()
            self.stopping.clear()

    def deactivate(self) -> None:
        with self._lock:
            self.stopping.set()
            self.endpoint_url = None
            self._clients.clear()

    @property
    def active(self) -> bool:
        return self.endpoint_url is not None

    # --- config -------------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The effective config: defaults < config file < launcher overrides.

        The file is tiny and read on every call (each invocation/job), so an edit is never missed - an
        mtime check could miss two same-size writes within one filesystem timestamp tick."""
        with self._lock:
            path = self.config_path
            try:
                text = path.read_text(encoding="utf-8") if path else ""
            except FileNotFoundError:
                text = ""
            if self._config_cache is None or self._config_cache[0] != text:
                try:
                    loaded: dict[str, Any] = json.loads(text) if text.strip() else {}
                    if not isinstance(loaded, dict):
                        raise ValueError("the embedded AWS config must be a JSON object")
                except ValueError as exc:
                    if self._config_cache is None:
                        raise ValueError(f"{path}: {exc}") from exc
                    # Half-written or broken: keep the last good config rather than fail every call.
                    LOG.warning("%s: %s - keeping the previous config", path, exc)
                    loaded = None
                if loaded is not None:
                    merged = copy.deepcopy(DEFAULT_CONFIG)
                    merged.update(loaded)
                    self._config_cache = (text, merged)
            merged = copy.deepcopy(self._config_cache[1])
            merged.update(copy.deepcopy(self.overrides))
            return merged

    @property
    def region(self) -> str:
        return self.config().get("region") or "us-east-1"

    # --- files --------------------------------------------------------------------------------------
    def path(self, *parts: str) -> Path:
        if self.state_dir is None:
            raise RuntimeError("the embedded AWS is not started (no state directory)")
        p = self.state_dir.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def dir(self, *parts: str) -> Path:
        p = self.path(*parts)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def append_jsonl(self, name: str, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=False, default=str) + "\n"
        with self._jsonl_lock, open(self.path(name), "a", encoding="utf-8") as f:
            f.write(line)

    # --- boto3 against the embedded endpoint ---------------------------------------------------------
    def client(self, service: str, region: str | None = None):
        region = region or self.region
        with self._lock:
            if self.endpoint_url is None:
                raise RuntimeError("the embedded AWS is not started")
            key = (service, region)
            if key not in self._clients:
                import boto3
                from botocore.config import Config

                if self._session is None:
                    self._session = boto3.session.Session()
                self._clients[key] = self._session.client(
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name=region,
                    aws_access_key_id="embedded",
                    aws_secret_access_key="embedded",
                    config=Config(retries={"max_attempts": 3, "mode": "standard"}, read_timeout=300),
                )
            return self._clients[key]


STATE = _State()
