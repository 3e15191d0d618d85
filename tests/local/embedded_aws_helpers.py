"""Helpers for the embedded AWS tests (a module, not conftest, so test files can import them)."""

from __future__ import annotations

import io
import json
import textwrap
import time
import zipfile

import boto3

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/embedded-aws-tests"


def make_client(server, service: str):
    return boto3.client(
        service,
        endpoint_url=server.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def build_zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in sorted(files.items()):
            zf.writestr(name, textwrap.dedent(text))
    return buf.getvalue()


def create_function(
    server,
    name: str,
    files: dict[str, str],
    handler: str,
    *,
    timeout: int = 30,
    memory: int = 256,
    env: dict[str, str] | None = None,
) -> str:
    client = make_client(server, "lambda")
    resp = client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": build_zip(files)},
        Timeout=timeout,
        MemorySize=memory,
        Environment={"Variables": env or {}},
    )
    return resp["FunctionArn"]


def create_state_machine(server, name: str, definition: dict) -> str:
    sfn = make_client(server, "stepfunctions")
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]


def run_execution(
    server, state_machine_arn: str, name: str, payload: dict | None = None, timeout: float = 60.0
) -> dict:
    sfn = make_client(server, "stepfunctions")
    arn = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload or {}))[
        "executionArn"
    ]
    return wait_execution(server, arn, timeout)


def wait_execution(server, execution_arn: str, timeout: float = 60.0) -> dict:
    sfn = make_client(server, "stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = sfn.describe_execution(executionArn=execution_arn)
        if desc["status"] != "RUNNING":
            return desc
        time.sleep(0.1)
    raise AssertionError(f"execution {execution_arn} still RUNNING after {timeout}s")


def history(server, execution_arn: str) -> list[dict]:
    sfn = make_client(server, "stepfunctions")
    return sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
