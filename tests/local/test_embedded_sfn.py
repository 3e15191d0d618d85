"""(a) ValidateStateMachineDefinition and (c) nested startExecution.sync / .sync:2."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from botocore.exceptions import ClientError

from .embedded_aws_helpers import ROLE, create_state_machine, history, make_client, run_execution


@pytest.fixture(scope="module")
def children(server):
    suffix = uuid.uuid4().hex[:6]
    ok = create_state_machine(
        server,
        f"child-ok-{suffix}",
        {
            "StartAt": "Echo",
            "States": {"Echo": {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "End": True}},
        },
    )
    bad = create_state_machine(
        server,
        f"child-bad-{suffix}",
        {
            "StartAt": "Boom",
            "States": {"Boom": {"Type": "Fail", "Error": "ChildBroke", "Cause": "on purpose"}},
        },
    )
    return {"ok": ok, "bad": bad}


def _parent(server, child_arn: str, resource: str, with_name: bool = True, catch: bool = False) -> str:
    params = {"StateMachineArn": child_arn, "Input": {"n.$": "$.n"}}
    if with_name:
        params["Name.$"] = "States.Format('{}-child', $$.Execution.Name)"
    task = {"Type": "Task", "Resource": resource, "Parameters": params, "End": True}
    if catch:
        task["Catch"] = [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failure", "Next": "Failed"}]
    states = {"Run": task}
    if catch:
        states["Failed"] = {"Type": "Pass", "End": True}
    return create_state_machine(server, f"parent-{uuid.uuid4().hex[:8]}", {"StartAt": "Run", "States": states})


def _name() -> str:
    return f"p-{uuid.uuid4().hex[:8]}"


def test_sync2_returns_parsed_output(server, children):
    parent = _parent(server, children["ok"], "arn:aws:states:::states:startExecution.sync:2")
    name = _name()
    desc = run_execution(server, parent, name, {"n": 21})
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    assert out["Output"] == {"doubled": 42}
    assert out["Input"] == {"n": 21}
    assert out["Status"] == "SUCCEEDED"
    assert out["ExecutionArn"].endswith(f":{name}-child")
    assert isinstance(out["StartDate"], int) and isinstance(out["StopDate"], int)  # epoch millis


def test_sync_returns_output_string(server, children):
    parent = _parent(server, children["ok"], "arn:aws:states:::states:startExecution.sync")
    desc = run_execution(server, parent, _name(), {"n": 2})
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    assert isinstance(out["Output"], str) and json.loads(out["Output"]) == {"doubled": 4}
    assert isinstance(out["Input"], str)


def test_unnamed_child_executions_get_unique_names(server, children):
    parent = _parent(server, children["ok"], "arn:aws:states:::states:startExecution.sync:2", with_name=False)
    names = set()
    for i in range(2):
        desc = run_execution(server, parent, _name(), {"n": i})
        assert desc["status"] == "SUCCEEDED", desc
        names.add(json.loads(desc["output"])["ExecutionArn"].rsplit(":", 1)[1])
    assert len(names) == 2 and "None" not in names


def test_request_response_start_execution(server, children):
    parent = _parent(server, children["ok"], "arn:aws:states:::states:startExecution")
    name = _name()
    desc = run_execution(server, parent, name, {"n": 1})
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    assert out["ExecutionArn"].endswith(f":{name}-child") and isinstance(out["StartDate"], int)


@pytest.mark.parametrize("resource", ["startExecution.sync", "startExecution.sync:2"])
def test_failed_child_fails_parent(server, children, resource):
    parent = _parent(server, children["bad"], f"arn:aws:states:::states:{resource}")
    desc = run_execution(server, parent, _name(), {"n": 1})
    assert desc["status"] == "FAILED"
    assert desc["error"] == "States.TaskFailed"
    cause = json.loads(desc["cause"])
    assert cause["Status"] == "FAILED" and cause["Error"] == "ChildBroke"

    caught = _parent(server, children["bad"], f"arn:aws:states:::states:{resource}", catch=True)
    desc = run_execution(server, caught, _name(), {"n": 1})
    assert desc["status"] == "SUCCEEDED"
    assert json.loads(desc["output"])["failure"]["Error"] == "States.TaskFailed"
    failed = [e for e in history(server, desc["executionArn"]) if e["type"] == "TaskFailed"]
    assert failed and failed[0]["taskFailedEventDetails"]["resource"] == resource


GOOD = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Succeed"}}}


@pytest.mark.parametrize(
    ("definition", "result", "code"),
    [
        (json.dumps(GOOD), "OK", None),
        ('{"StartAt": "A", "States": {', "FAIL", "INVALID_JSON_DESCRIPTION"),
        (
            json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}),
            "FAIL",
            "SCHEMA_VALIDATION_FAILED",
        ),
        (json.dumps({"StartAt": "Z", "States": {"A": {"Type": "Succeed"}}}), "FAIL", "SCHEMA_VALIDATION_FAILED"),
        (
            json.dumps(
                {
                    "StartAt": "A",
                    "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::nope:doIt", "End": True}},
                }
            ),
            "FAIL",
            None,
        ),
        (json.dumps({"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": "soon", "End": True}}}), "FAIL", None),
    ],
)
def test_validate_state_machine_definition(server, definition, result, code):
    sfn = make_client(server, "stepfunctions")
    resp = sfn.validate_state_machine_definition(definition=definition, type="STANDARD")
    assert resp["result"] == result, resp
    assert resp["truncated"] is False
    if result == "OK":
        assert resp["diagnostics"] == []
    else:
        assert resp["diagnostics"] and all(d["severity"] == "ERROR" and d["message"] for d in resp["diagnostics"])
        if code:
            assert resp["diagnostics"][0]["code"] == code


def test_create_state_machine_rejects_unknown_next(server):
    sfn = make_client(server, "stepfunctions")
    with pytest.raises(ClientError) as err:
        sfn.create_state_machine(
            name=f"bad-{uuid.uuid4().hex[:6]}",
            roleArn=ROLE,
            definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}),
        )
    assert err.value.response["Error"]["Code"] == "InvalidDefinition"


def test_web_pages_elsewhere_get_no_cross_origin_access(server):
    """A page on another site, open in the user's browser, must not be able to read the local endpoint."""

    def allowed_origin(method: str, headers: dict) -> str | None:
        request = urllib.request.Request(f"{server.endpoint_url}/", method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.headers.get("Access-Control-Allow-Origin")
        except urllib.error.HTTPError as error:
            return error.headers.get("Access-Control-Allow-Origin")

    origin = {"Origin": "http://evil.example"}
    assert allowed_origin("OPTIONS", {**origin, "Access-Control-Request-Method": "GET"}) is None  # preflight
    assert allowed_origin("GET", origin) is None


@pytest.mark.parametrize("worker", [None, type("Worker", (), {"env": None})()], ids=["no worker", "no env"])
def test_task_token_calls_skip_executions_whose_interpreter_is_gone(server, worker):
    """An execution listed as RUNNING without an interpreter (its worker is gone) used to turn every
    SendTaskHeartbeat/Success/Failure into a 500; now the search skips it and answers as AWS does."""
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    arn = create_state_machine(
        server, f"wait-{uuid.uuid4().hex[:8]}", {"StartAt": "W", "States": {"W": {"Type": "Pass", "End": True}}}
    )
    run_execution(server, arn, f"done-{uuid.uuid4().hex[:6]}")
    backend = stepfunctions_parser_backends["123456789012"]["us-east-1"]
    execution = next(e for sm in backend.state_machines for e in sm.executions if ":done-" in e.exec_arn)
    status, original = execution.exec_status, execution.exec_worker
    execution.exec_status, execution.exec_worker = ExecutionStatus.RUNNING, worker
    try:
        sfn = make_client(server, "stepfunctions")
        for call, extra in [
            (sfn.send_task_heartbeat, {}),
            (sfn.send_task_success, {"output": "{}"}),
            (sfn.send_task_failure, {"error": "E"}),
        ]:
            with pytest.raises(ClientError) as error:
                call(taskToken="no-such-token", **extra)
            assert error.value.response["Error"]["Code"] == "InvalidToken"
    finally:
        execution.exec_status, execution.exec_worker = status, original


def test_stopping_an_execution_whose_interpreter_is_still_starting_aborts_it(server):
    """moto assigns an execution's interpreter only once its thread has parsed the definition; a stop in
    that window (a round stopped as it starts, on a busy machine) used to answer 500 and leave the execution
    running. Now the stop waits for the interpreter and aborts the execution."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    waits = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    arn = create_state_machine(server, f"slow-{uuid.uuid4().hex[:8]}", waits)
    sfn = make_client(server, "stepfunctions")
    execution_arn = sfn.start_execution(stateMachineArn=arn, name=f"starting-{uuid.uuid4().hex[:6]}")["executionArn"]
    backend = stepfunctions_parser_backends["123456789012"]["us-east-1"]
    worker = next(e for sm in backend.state_machines for e in sm.executions if e.exec_arn == execution_arn).exec_worker
    for _ in range(500):  # the interpreter of this execution exists once its thread has started it
        if worker.env is not None:
            break
        time.sleep(0.01)
    environment, worker.env = worker.env, None  # back in the window before the thread assigns it
    threading.Timer(0.3, lambda: setattr(worker, "env", environment)).start()

    sfn.stop_execution(executionArn=execution_arn)
    assert sfn.describe_execution(executionArn=execution_arn)["status"] == "ABORTED"
