"""`python -m local.embedded_aws`: ready line on stdout, serves, clean shutdown on SIGTERM (children killed)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3

from .embedded_aws_helpers import ROLE, build_zip

REPO = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _read_line(stream, timeout: float) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert line, f"no ready line within {timeout}s"
    return line[0]


def test_cli_serves_until_sigterm_and_kills_children(tmp_path, runtime_site):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"runtime_site": str(runtime_site)}))
    state = tmp_path / "state"
    with open(tmp_path / "stderr.log", "wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.embedded_aws",
                "--port",
                "0",
                "--state-dir",
                str(state),
                "--config",
                str(config),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        ready = json.loads(_read_line(proc.stdout, 60))
        assert ready["pid"] == proc.pid
        assert ready["endpoint_url"].startswith("http://127.0.0.1:")
        kw = dict(
            endpoint_url=ready["endpoint_url"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        iam, lam = boto3.client("iam", **kw), boto3.client("lambda", **kw)
        iam.create_role(RoleName=ROLE.rsplit("/", 1)[1], AssumeRolePolicyDocument="{}")
        pid_file = tmp_path / "handler.pid"
        lam.create_function(
            FunctionName="sleeper",
            Runtime="python3.12",
            Role=ROLE,
            Handler="s.h",
            Timeout=120,
            Code={
                "ZipFile": build_zip(
                    {
                        "s.py": """
                import os, time
                def h(event, context):
                    open(event["pid_file"], "w").write(str(os.getpid()))
                    time.sleep(100)
            """
                    }
                )
            },
        )
        lam.invoke(FunctionName="sleeper", InvocationType="Event", Payload=json.dumps({"pid_file": str(pid_file)}))
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        handler_pid = int(pid_file.read_text())
        assert _alive(handler_pid)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while _alive(handler_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(handler_pid), "the Lambda subprocess survived the launcher"
        assert (state / "embedded-aws-config.json").exists() is False  # --config file used in place
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
