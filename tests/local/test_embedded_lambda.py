"""(b) Lambda handlers run for real from their zip, in a subprocess with the Lambda runtime's Python."""

from __future__ import annotations

import base64
import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from .embedded_aws_helpers import (
    build_zip,
    create_function,
    create_state_machine,
    history,
    make_client,
    run_execution,
    wait_execution,
)

READER = {
    "reader/__init__.py": "",
    "reader/handler.py": """
        import os, sys
        import boto3
        from shared_lib.util import shout

        def lambda_handler(event, context):
            print("reading", event["key"])  # stdout is the function's log, not its result
            s3 = boto3.client("s3")
            body = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read().decode()
            return {
                "text": shout(body),
                "function_name": context.function_name,
                "memory": context.memory_limit_in_mb,
                "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 30_000,
                "request_id": context.aws_request_id,
                "env": {k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "GREETING",
                        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION", "AWS_LAMBDA_LOG_GROUP_NAME")},
                "endpoint_set": bool(os.environ.get("AWS_ENDPOINT_URL")),
                "python": "%d.%d" % sys.version_info[:2],
                "boto3_from": "runtime_site" if "embedded-aws-runtime-site" in boto3.__file__ else boto3.__file__,
            }
    """,
    "shared_lib/__init__.py": "",
    "shared_lib/util.py": "def shout(s):\n    return s.upper()\n",
}

FAILING = {
    "failing/__init__.py": "",
    "failing/handler.py": """
        import time

        class InvalidInput(Exception):
            pass

        def lambda_handler(event, context):
            if event.get("sleep"):
                time.sleep(event["sleep"])
                return "slept"
            if event.get("ok"):
                return {"ok": True}
            raise InvalidInput("bad input: " + event.get("why", "?"))
    """,
}


@pytest.fixture(scope="module")
def functions(server):
    suffix = uuid.uuid4().hex[:6]
    names = {"reader": f"reader-{suffix}", "failing": f"failing-{suffix}", "slow": f"slow-{suffix}"}
    create_function(server, names["reader"], READER, "reader.handler.lambda_handler", env={"GREETING": "hi"})
    create_function(server, names["failing"], FAILING, "failing.handler.lambda_handler")
    create_function(server, names["slow"], FAILING, "failing.handler.lambda_handler", timeout=1)
    s3 = make_client(server, "s3")
    s3.create_bucket(Bucket=f"lambda-data-{suffix}")
    s3.put_object(Bucket=f"lambda-data-{suffix}", Key="in.txt", Body=b"hello lambda")
    names["bucket"] = f"lambda-data-{suffix}"
    return names


def _invoke(server, name, payload, **kwargs):
    client = make_client(server, "lambda")
    resp = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), **kwargs)
    return resp, json.loads(resp["Payload"].read())


def test_direct_invoke_runs_real_handler(server, functions):
    resp, body = _invoke(server, functions["reader"], {"bucket": functions["bucket"], "key": "in.txt"}, LogType="Tail")
    assert "FunctionError" not in resp
    assert body["text"] == "HELLO LAMBDA"
    assert body["function_name"] == functions["reader"]
    assert body["memory"] == 256 and body["remaining_ok"]
    assert body["python"] == "3.12"
    assert body["boto3_from"] == "runtime_site"
    assert body["endpoint_set"]
    assert body["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": functions["reader"],
        "_HANDLER": "reader.handler.lambda_handler",
        "GREETING": "hi",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{functions['reader']}",
    }
    tail = base64.b64decode(resp["LogResult"]).decode()
    assert "reading in.txt" in tail and "REPORT RequestId" in tail
    log = (server.state_dir / "logs" / f"{functions['reader']}.log").read_text()
    assert "reading in.txt" in log and body["request_id"] in log


def test_handler_exception_is_reported_like_lambda(server, functions):
    resp, body = _invoke(server, functions["failing"], {"why": "empty"})
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "InvalidInput"
    assert body["errorMessage"] == "bad input: empty"
    assert any("raise InvalidInput" in frame for frame in body["stackTrace"])


def test_timeout_is_enforced(server, functions):
    resp, body = _invoke(server, functions["slow"], {"sleep": 5})
    assert resp["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    record = [r for r in server.read_jsonl() if r["function"] == functions["slow"]][-1]
    assert record["error"] == "Sandbox.Timedout" and record["seconds"] < 4
    assert record["peak_mb"] is not None


def test_invocations_log_has_peak_memory(server, functions):
    _invoke(server, functions["failing"], {"ok": True})
    records = [r for r in server.read_jsonl("invocations.jsonl") if r["function"] == functions["failing"]]
    assert records, "no invocation recorded"
    last = records[-1]
    assert last["error"] is None
    # The handler process's own peak, not the ~200 MB server that spawned it.
    assert last["peak_mb"] is not None and 5 < last["peak_mb"] < 150
    assert set(last) >= {"function", "request_id", "seconds", "peak_mb", "error"}


def test_update_function_code_runs_new_code(server, functions):
    client = make_client(server, "lambda")
    name = functions["failing"] + "-v2"
    create_function(server, name, {"m.py": "def h(e, c):\n    return 1\n"}, "m.h")
    assert _invoke(server, name, {})[1] == 1
    client.update_function_code(FunctionName=name, ZipFile=build_zip({"m.py": "def h(e, c):\n    return 2\n"}))
    assert _invoke(server, name, {})[1] == 2
    make_client(server, "s3").put_object(
        Bucket=functions["bucket"], Key="code/m.zip", Body=build_zip({"m.py": "def h(e, c):\n    return 3\n"})
    )
    client.update_function_code(FunctionName=name, S3Bucket=functions["bucket"], S3Key="code/m.zip")
    assert _invoke(server, name, {})[1] == 3


def test_state_machine_retries_then_catches_by_exception_class(server, functions):
    arn = create_state_machine(
        server,
        f"retry-catch-{uuid.uuid4().hex[:6]}",
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": functions["failing"], "Payload.$": "$"},
                    "Retry": [
                        {"ErrorEquals": ["InvalidInput"], "IntervalSeconds": 1, "MaxAttempts": 1, "BackoffRate": 1.0}
                    ],
                    "Catch": [{"ErrorEquals": ["InvalidInput"], "ResultPath": "$.error", "Next": "Caught"}],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "End": True},
            },
        },
    )
    before = len([r for r in server.read_jsonl() if r["function"] == functions["failing"]])
    desc = run_execution(server, arn, "e1", {"why": "catch me"})
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    assert out["error"]["Error"] == "InvalidInput"
    assert json.loads(out["error"]["Cause"])["errorMessage"] == "bad input: catch me"
    after = [r for r in server.read_jsonl() if r["function"] == functions["failing"]][before:]
    assert [r["error"] for r in after] == ["InvalidInput", "InvalidInput"]  # first try + one retry


def test_injected_service_exception_is_retried(server, functions):
    arn = create_state_machine(
        server,
        f"fault-retry-{uuid.uuid4().hex[:6]}",
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": functions["failing"], "Payload": {"ok": True}},
                    "OutputPath": "$.Payload",
                    "Retry": [
                        {
                            "ErrorEquals": ["Lambda.ServiceException"],
                            "IntervalSeconds": 1,
                            "MaxAttempts": 2,
                            "BackoffRate": 1.0,
                        }
                    ],
                    "End": True,
                },
            },
        },
    )
    server.set_faults({"lambda": {functions["failing"]: {"error": "Lambda.ServiceException", "times": 1}}})
    desc = run_execution(server, arn, "e1")
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"]) == {"ok": True}
    failed = [e for e in history(server, desc["executionArn"]) if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == ["Lambda.ServiceException"]
    assert json.loads((server.state_dir / "faults.json").read_text())["lambda"][functions["failing"]]["times"] == 0
    injected = [r for r in server.read_jsonl() if r["function"] == functions["failing"] and r["injected_fault"]]
    assert injected[-1]["error"] == "Lambda.ServiceException"


def test_injected_fault_on_direct_invoke_is_an_api_error(server, functions):
    server.set_faults({"lambda": {functions["failing"]: {"error": "Lambda.TooManyRequestsException", "times": 1}}})
    no_retry = boto3.client(
        "lambda",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as err:
        no_retry.invoke(FunctionName=functions["failing"], Payload=b'{"ok": true}')
    assert err.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    server.set_faults({"lambda": {functions["failing"]: {"error": "InvalidInput", "times": 1}}})
    resp = no_retry.invoke(FunctionName=functions["failing"], Payload=b'{"ok": true}')
    assert resp["FunctionError"] == "Unhandled"
    assert json.loads(resp["Payload"].read())["errorType"] == "InvalidInput"
    assert "FunctionError" not in no_retry.invoke(FunctionName=functions["failing"], Payload=b'{"ok": true}')


def test_wait_for_task_token_and_send_task_success(server, functions):
    name = functions["failing"] + "-token"
    create_function(
        server,
        name,
        {
            "cb.py": """
        def h(event, context):
            print("token", event["token"])
            return {"accepted": True}
    """
        },
        "cb.h",
    )
    arn = create_state_machine(
        server,
        f"token-{uuid.uuid4().hex[:6]}",
        {
            "StartAt": "Wait",
            "States": {
                "Wait": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": name, "Payload": {"token.$": "$$.Task.Token"}},
                    "TimeoutSeconds": 60,
                    "End": True,
                },
            },
        },
    )
    sfn = make_client(server, "stepfunctions")
    exec_arn = sfn.start_execution(stateMachineArn=arn, name="e1", input="{}")["executionArn"]
    import time

    token = None
    for _ in range(200):
        log = server.state_dir / "logs" / f"{name}.log"
        if log.exists():
            lines = [ln for ln in log.read_text().splitlines() if ln.startswith("token ")]
            if lines:
                token = lines[-1].split(" ", 1)[1]
                break
        time.sleep(0.05)
    assert token, "the callback Lambda never ran"
    sfn.send_task_heartbeat(taskToken=token)  # no HeartbeatSeconds declared: accepted (and ignored), as on AWS
    sfn.send_task_success(taskToken=token, output=json.dumps({"labels": [1, 2]}))
    desc = wait_execution(server, exec_arn)
    assert desc["status"] == "SUCCEEDED", desc
    with pytest.raises(ClientError):  # the task is answered: its token is no longer valid
        sfn.send_task_heartbeat(taskToken=token)
    assert json.loads(desc["output"]) == {"labels": [1, 2]}

    exec2 = sfn.start_execution(stateMachineArn=arn, name="e2", input="{}")["executionArn"]
    for _ in range(200):
        lines = [
            ln for ln in (server.state_dir / "logs" / f"{name}.log").read_text().splitlines() if ln.startswith("token ")
        ]
        if len(lines) >= 2:
            break
        time.sleep(0.05)
    sfn.send_task_failure(taskToken=lines[-1].split(" ", 1)[1], error="LabelingFailed", cause="workers quit")
    desc = wait_execution(server, exec2)
    assert desc["status"] == "FAILED"
    assert desc["error"] == "LabelingFailed" and desc["cause"] == "workers quit"


def test_lambda_arn_resource_returns_payload_and_error_names(server, functions):
    fn_arn = make_client(server, "lambda").get_function(FunctionName=functions["failing"])["Configuration"][
        "FunctionArn"
    ]
    arn = create_state_machine(
        server,
        f"arn-task-{uuid.uuid4().hex[:6]}",
        {
            "StartAt": "Ok",
            "States": {
                "Ok": {
                    "Type": "Task",
                    "Resource": fn_arn,
                    "Parameters": {"ok": True},
                    "ResultPath": "$.ok",
                    "Next": "Bad",
                },
                "Bad": {
                    "Type": "Task",
                    "Resource": fn_arn,
                    "Parameters": {"why": "arn"},
                    "Catch": [{"ErrorEquals": ["InvalidInput"], "ResultPath": "$.error", "Next": "Done"}],
                    "End": True,
                },
                "Done": {"Type": "Pass", "End": True},
            },
        },
    )
    desc = run_execution(server, arn, "e1")
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    assert out["ok"] == {"ok": True}
    assert out["error"]["Error"] == "InvalidInput"
