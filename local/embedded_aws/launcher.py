"""The embedded AWS: moto server on 127.0.0.1 with Step Functions execution and the local-mode patches.

In-process (tests):

    with EmbeddedAWS(state_dir=tmp, config={"runtime_site": site}) as aws:
        boto3.client("s3", endpoint_url=aws.endpoint_url, ...)

As a process: `python -m local.embedded_aws --port 0 --state-dir DIR [--config FILE]` (see __main__.py).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import urllib.request
from pathlib import Path
from typing import Any

from . import extension, procs
from .state import STATE, atomic_write_text

LOG = logging.getLogger(__name__)
_active_lock = threading.Lock()
_active: EmbeddedAWS | None = None


class EmbeddedAWS:
    """One embedded AWS per process (moto's backends are process-global).

    Args:
        port: TCP port on `host`; 0 picks a free one.
        host: bind address (default 127.0.0.1).
        state_dir: where logs, invocations.jsonl, jobs.jsonl, faults.json, the Lambda code cache and job
            folders go; default a temporary directory removed on stop().
        config: launcher config - a dict (written to <state_dir>/embedded-aws-config.json) or the path of
            a JSON file that is re-read whenever it changes; None = defaults.
        runtime_site, region: shortcuts overriding the config keys of the same name.
        reset: start from empty moto backends (default True).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        state_dir: str | os.PathLike | None = None,
        config: dict[str, Any] | str | os.PathLike | None = None,
        runtime_site: str | os.PathLike | None = None,
        region: str | None = None,
        reset: bool = True,
    ):
        self.host = host
        self.port = int(port)
        self._owns_state_dir = state_dir is None
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self._config_arg = config
        self._overrides: dict[str, Any] = {}
        if runtime_site is not None:
            self._overrides["runtime_site"] = str(Path(runtime_site).resolve())
        if region is not None:
            self._overrides["region"] = region
        self._reset = reset
        self._server = None
        self._saved_moto_config: dict = {}
        self._saved_moto_port: str | None = None
        self.endpoint_url: str | None = None
        self.config_path: Path | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> EmbeddedAWS:
        global _active
        with _active_lock:
            if _active is not None:
                raise RuntimeError("an embedded AWS is already running in this process (moto state is global)")
            _active = self
        try:
            self._start()
        except BaseException:
            with _active_lock:
                _active = None
            raise
        return self

    def _start(self) -> None:
        from moto.moto_server import werkzeug_app
        from moto.server import ThreadedMotoServer

        # moto answers cross-origin requests from any web page by default (global CORS): a page open in the
        # user's browser could then read and write this endpoint. Off: only non-browser clients (the AWS CLI,
        # SDKs, Terraform, the labeling page's own server) use it.
        werkzeug_app.DISABLE_GLOBAL_CORS = True
        extension.install()
        if self.state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="embedded-aws-"))
        self.state_dir = self.state_dir.resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if isinstance(self._config_arg, (str, os.PathLike)):
            self.config_path = Path(self._config_arg).resolve()
            if not self.config_path.exists():
                raise FileNotFoundError(f"embedded AWS config {self.config_path} does not exist")
            json.loads(self.config_path.read_text(encoding="utf-8") or "{}")  # fail fast on bad JSON
        else:
            self.config_path = self.state_dir / "embedded-aws-config.json"
            atomic_write_text(self.config_path, json.dumps(self._config_arg or {}, indent=2) + "\n")
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.port = port
        self.endpoint_url = f"http://{host}:{port}"
        self._saved_moto_config = extension.configure_moto()
        self._saved_moto_port = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(port)  # anything in moto that still builds its own URL
        STATE.activate(self.endpoint_url, self.state_dir, self.config_path, self._overrides)
        if self._reset:
            self.reset()
        LOG.info("embedded AWS listening on %s (state %s)", self.endpoint_url, self.state_dir)

    def stop(self) -> None:
        global _active
        if self._server is None:
            return
        STATE.deactivate()
        procs.kill_all()
        try:
            self._server.stop()
        finally:
            self._server = None
            extension.restore_moto_config(self._saved_moto_config)
            if self._saved_moto_port is None:
                os.environ.pop("MOTO_PORT", None)
            else:
                os.environ["MOTO_PORT"] = self._saved_moto_port
            with _active_lock:
                _active = None
            if self._owns_state_dir and self.state_dir is not None:
                shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> EmbeddedAWS:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- conveniences ------------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty every moto backend (POST /moto-api/reset)."""
        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - local endpoint
            resp.read()

    def client(self, service: str, region: str | None = None):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=region or STATE.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def config(self) -> dict[str, Any]:
        """The effective config (defaults < config file < constructor overrides)."""
        return STATE.config()

    def update_config(self, **changes: Any) -> None:
        """Rewrite the config file with `changes` merged in (takes effect for the next invocation/job)."""
        current = json.loads(self.config_path.read_text(encoding="utf-8") or "{}")
        current.update(changes)
        atomic_write_text(self.config_path, json.dumps(current, indent=2) + "\n")

    def set_faults(self, faults: dict[str, Any]) -> None:
        """Replace <state_dir>/faults.json (see faults.py)."""
        atomic_write_text(self.state_dir / "faults.json", json.dumps(faults, indent=2) + "\n")

    def read_jsonl(self, name: str = "invocations.jsonl") -> list[dict[str, Any]]:
        path = self.state_dir / name
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
