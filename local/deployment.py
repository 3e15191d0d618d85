"""The whole stack on one machine: the embedded AWS (moto + extension) and `terraform apply` against it —
the same Terraform, ASL and Lambda zips as on AWS."""

from __future__ import annotations

import fcntl
import os
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .embedded_aws import EmbeddedAWS
from .terraform import Terraform

REPO = Path(__file__).resolve().parents[1]
STATE_DIR = REPO / "local" / ".state"
RUNTIME_SITE = REPO / "build" / "lambda-runtime" / "python"
REGION = "us-east-1"


def local_variables(endpoint_url: str, **overrides: Any) -> dict:
    """Terraform variables of local mode: the bundled model (run from containers/ by the embedded SageMaker), no
    bucket lifecycle rules (below), everything else as it would be deployed."""
    return {
        "region": REGION,
        "aws_endpoint_url": endpoint_url,
        "name_prefix": "al-local",
        "force_destroy": True,
        "model_preset": "bundled",
        # The emulator stores lifecycle rules but never applies them, and the provider's checks that they have
        # propagated take ~55 s, the longest chain of the apply (tests/terraform/test_apply_local.py keeps them).
        "manage_bucket_lifecycle": False,
        **overrides,
    }


class StateDirectoryInUse(SystemExit):
    """Another local deployment holds this state directory. A second `terraform apply` there replaces the first
    one's stack while it runs (two `make bench` at once: the first failed at its next run with
    KeyError 'loop_state_machine_arn')."""


class StateDirectoryLock:
    """An exclusive lock on a local deployment's state directory, held from before the embedded AWS starts until
    it stops. flock, not a pid file: the kernel releases it when its holder exits, however it exits, so a killed
    run never leaves a stale lock. The file says who holds it, for the error the next one gets."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / ".lock"
        self._file = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the lock's lifetime, closed by release()
        with ExitStack() as on_failure:
            # Closed on every way out but success: busy, or unable to write its name (a full disk), a handle left
            # open would keep the lock for as long as the exception's traceback references it.
            on_failure.callback(handle.close)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "a process that has not written its name yet"
                raise StateDirectoryInUse(
                    f"{self.path.parent} is in use by another local deployment ({holder}). Two at once in one "
                    "state directory would replace each other's stack: wait for that one to end, or run this one "
                    "from another clone."
                ) from None
            handle.truncate(0)
            since = f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
            handle.write(f"pid {os.getpid()}, `{' '.join(sys.argv)}`, since {since}\n")
            handle.flush()
            on_failure.pop_all()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the last descriptor releases the flock
            self._file = None


@dataclass
class LocalDeployment:
    state_dir: Path = STATE_DIR
    workforce: dict | None = None  # simulated Ground Truth workforce (see local/embedded_aws/workforce.py)
    terraform_variables: dict = field(default_factory=dict)
    aws: EmbeddedAWS | None = None
    outputs: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    _lock: StateDirectoryLock | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> LocalDeployment:
        self._lock = StateDirectoryLock(self.state_dir)
        self._lock.acquire()
        try:
            if not (RUNTIME_SITE / "boto3").is_dir():
                raise SystemExit(f"{RUNTIME_SITE} is missing: run `make lambda-runtime` (make run does)")
            return self._deploy()
        except BaseException:
            self._lock.release()
            raise

    def _deploy(self) -> LocalDeployment:
        config = {"runtime_site": str(RUNTIME_SITE), "region": REGION}
        if self.workforce:
            config["workforce"] = self.workforce
        started = time.monotonic()
        self.aws = EmbeddedAWS(state_dir=self.state_dir / "aws", config=config).start()
        self.timings["embedded_aws_seconds"] = time.monotonic() - started
        try:
            terraform = Terraform(self.state_dir / "terraform")
            terraform.forget_state()
            terraform.init()
            self.timings["terraform_apply_seconds"] = terraform.apply(
                local_variables(self.aws.endpoint_url, **self.terraform_variables)
            )
            self.outputs = terraform.outputs()
        except BaseException:
            self.aws.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            if self.aws is not None:
                self.aws.stop()
        finally:
            if self._lock is not None:
                self._lock.release()

    def client(self, service: str):
        return self.aws.client(service)

    def set_workforce(self, workforce: dict) -> None:
        """The simulated Ground Truth workforce for the next labeling jobs (re-read on every job)."""
        self.aws.update_config(workforce=workforce)
