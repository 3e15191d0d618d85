"""Small Step Functions fixes the embedded AWS needs around moto's ASL interpreter.

1. Service calls from the interpreter go to THIS server.
   WHY: moto.stepfunctions.parser.asl.utils.boto_client.boto_client_for builds a new boto3 client on
   every task, aimed at http://localhost:$MOTO_PORT (default 5000) - the wrong port for a server on a
   free port, and "localhost" may resolve to ::1 first. It also costs ~50 ms per task.
   TOUCHES: the module attribute `boto_client_for` in every moto.stepfunctions.parser module that
   imported it by name (swept from sys.modules after importing the task-service factory).
   Replacement: cached, thread-safe clients on STATE.endpoint_url with moto's settings (no retries).

Every behaviour change here (and in the other patch modules) applies only while an embedded AWS is
running in the process (STATE.active); otherwise moto behaves as shipped, so mock_aws-based tests in the
same process are unaffected.

2. Unnamed executions get a UUID name, as on AWS.
   WHY: moto names them "None" (so a second unnamed StartExecution - e.g. a startExecution task
   without "Name" - collides with the first).
   TOUCHES: moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution (wrapped).

3. SendTaskFailure keeps its `cause`.
   WHY: moto.stepfunctions.responses.StepFunctionResponse.send_task_failure drops the `cause` parameter,
   so a waitForTaskToken task failed by a callback has no Cause for Catch/ResultPath.
   TOUCHES: StepFunctionResponse.send_task_failure (replaced; the backend method already takes cause).

4. Errors of the ASL-executing backend carry their error code.
   WHY: the exception classes in moto.stepfunctions.parser.api (InvalidDefinition, TaskDoesNotExist,
   TaskTimedOut, InvalidToken, ExecutionDoesNotExist, ...) declare LocalStack-style `code`/`status_code`
   attributes, but subclass moto's AWSError, which serialises `TYPE` - so clients get an EMPTY error code
   (e.g. CreateStateMachine with a bad definition -> Code "", not "InvalidDefinition").
   TOUCHES: sets TYPE/STATUS on those classes from their `code`/`status_code`.

5. ListStateMachineVersions answers (with no versions).
   WHY: the Terraform AWS provider lists a state machine's versions after creating it; moto has no such
   action and answers 500 with an HTML page, so `terraform apply` of aws_sfn_state_machine fails. The
   workflow never publishes versions, so an empty list is the true answer.
   TOUCHES: adds StepFunctionResponse.list_state_machine_versions.

6. SendTaskHeartbeat on a waiting callback task without HeartbeatSeconds succeeds, as on AWS.
   WHY: moto.stepfunctions.parser.asl.eval.callback.callback.CallbackEndpoint.notify_heartbeat returns False
   when the state declares no HeartbeatSeconds, and the backend then answers InvalidToken; AWS accepts (and
   ignores) the beat. `labeler` heartbeats before uploading answers, so every local callback answer was refused.
   TOUCHES: CallbackEndpoint.notify_heartbeat (wrapped; a beat after the task was answered still fails).

7. Task-token calls skip executions that no longer run an interpreter here.
   WHY: StepFunctionsParserBackend.send_task_heartbeat/success/failure loop over executions and read
   `execution.exec_worker.env` - None (the worker or its env) for an execution whose interpreter is gone - so
   one such execution in the account made every SendTaskHeartbeat fail with a 500 (AttributeError) instead
   of finding the token or answering InvalidToken. `labeler` heartbeats answered tasks to tell "completed"
   from "upload worked but SendTaskSuccess failed".
   TOUCHES: the three methods (replaced while STATE.active; the same search, skipping worker-less executions).

8. StopExecution stops what the execution waits for, as on AWS.
   WHY: moto's Execution.stop only marks the interpreter's environment stopped. A task waiting for a task
   token blocks in CallbackEndpoint.wait (no timeout) and the execution thread waits for that task, so the
   execution stayed RUNNING for ever (a resume was then refused with WorkflowLocked); a child execution
   started by a `.sync` task kept running and committing. On AWS the execution is ABORTED at once, a task
   token wait ends with it, and a `.sync` child execution is stopped too (that is why the integration's
   role needs states:StopExecution).
   TOUCHES: moto.stepfunctions.parser.backend.execution.Execution.stop (wrapped: also interrupts every
   callback endpoint of the execution, marks it ABORTED, and stops the children it started);
   StateTaskServiceSfn._build_sync_resolver/_build_sync2_resolver (wrapped: record the child's ARN);
   Environment.set_error (wrapped: the interrupted wait ends its task with an error, which must not turn the
   stopped program into a failed one - on AWS a stopped execution is ABORTED whatever its last task did).

9. GetExecutionHistory honours reverseOrder, maxResults and nextToken.
   WHY: moto.stepfunctions.responses.StepFunctionResponse.get_execution_history ignores all three and
   returns every event oldest first; NotifyRunEvents reads the newest events of a failed run (reverseOrder)
   to name the state that failed.
   TOUCHES: StepFunctionResponse.get_execution_history (replaced while STATE.active; the token is the offset
   of the next page, opaque to clients as on AWS; without maxResults every event comes back, as in moto).
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from typing import Any

from .state import STATE

_client_lock = threading.Lock()
_clients: dict[tuple[str, str, str], Any] = {}
_session = None


_original_boto_client_for = None


def boto_client_for(region: str, service: str, state_credentials: Any = None):
    global _session
    import boto3
    from botocore.config import Config
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    endpoint = STATE.endpoint_url
    if endpoint is None:  # no embedded AWS running: moto's own behaviour (e.g. under mock_aws)
        return _original_boto_client_for(region=region, service=service, state_credentials=state_credentials)
    key = (endpoint, region, service)
    with _client_lock:
        client = _clients.get(key)
        if client is None:
            if _session is None:
                _session = boto3.session.Session()
            client = _session.client(
                service_name=service,
                region_name=region,
                endpoint_url=endpoint,
                aws_access_key_id="ak",
                aws_secret_access_key="sk",
                config=Config(
                    parameter_validation=False,
                    retries={"max_attempts": 0, "total_max_attempts": 1},
                    connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    max_pool_connections=50,
                ),
            )
            _clients[key] = client
    return client


def install() -> None:
    # Import everything that binds boto_client_for, then rebind it everywhere.
    import moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3  # noqa: F401
    import moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3  # noqa: F401,E501
    import moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_factory  # noqa: F401
    from moto.stepfunctions.parser.asl.utils import boto_client as boto_client_module

    global _original_boto_client_for
    original = getattr(boto_client_module, "_embedded_original", boto_client_module.boto_client_for)
    boto_client_module._embedded_original = original
    _original_boto_client_for = original
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions") and getattr(module, "boto_client_for", None) in (
            original,
            boto_client_for,
        ):
            module.boto_client_for = boto_client_for

    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    if not getattr(StepFunctionsParserBackend.start_execution, "_embedded", False):
        original_start = StepFunctionsParserBackend.start_execution

        def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
            if STATE.active and not name:
                name = str(uuid.uuid4())
            return original_start(self, state_machine_arn, name, execution_input, trace_header)

        start_execution._embedded = True
        StepFunctionsParserBackend.start_execution = start_execution

    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    original_send_task_failure = getattr(
        StepFunctionResponse.send_task_failure, "_embedded_original", StepFunctionResponse.send_task_failure
    )

    def send_task_failure(self):
        if not STATE.active:
            return original_send_task_failure(self)
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    send_task_failure._embedded_original = original_send_task_failure

    def list_state_machine_versions(self):
        from moto.core.responses import ActionResult

        self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))  # 404 if unknown
        return ActionResult({"stateMachineVersions": []})

    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions

    original_history = getattr(
        StepFunctionResponse.get_execution_history, "_embedded_original", StepFunctionResponse.get_execution_history
    )

    def get_execution_history(self):
        from moto.core.responses import ActionResult

        if not STATE.active:
            return original_history(self)
        found = self.stepfunction_backend.get_execution_history(self._get_param("executionArn"))
        events = list(found["events"])
        if self._get_param("reverseOrder"):
            events.reverse()
        size = self._get_param("maxResults")
        if not size:
            return ActionResult({**found, "events": events})
        start = int(self._get_param("nextToken") or 0)
        page = {**found, "events": events[start : start + int(size)]}
        page.pop("nextToken", None)
        if start + int(size) < len(events):
            page["nextToken"] = str(start + int(size))
        return ActionResult(page)

    get_execution_history._embedded_original = original_history
    StepFunctionResponse.get_execution_history = get_execution_history

    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint

    if not getattr(CallbackEndpoint.notify_heartbeat, "_embedded", False):
        original_notify_heartbeat = CallbackEndpoint.notify_heartbeat

        def notify_heartbeat(self) -> bool:
            # A task still waiting but declaring no HeartbeatSeconds: AWS accepts the beat and ignores it.
            return original_notify_heartbeat(self) or (STATE.active and self._outcome is None)

        notify_heartbeat._embedded = True
        CallbackEndpoint.notify_heartbeat = notify_heartbeat

    StepFunctionResponse.send_task_failure = send_task_failure
    _install_task_token_search()
    _install_stop()

    from moto.core.exceptions import AWSError
    from moto.stepfunctions.parser import api as parser_api

    for obj in vars(parser_api).values():
        if (
            isinstance(obj, type)
            and issubclass(obj, AWSError)
            and obj.__dict__.get("TYPE") is None
            and isinstance(obj.__dict__.get("code"), str)
        ):
            obj.TYPE = obj.code
            obj.STATUS = int(getattr(obj, "status_code", 400))


def _install_task_token_search() -> None:
    from moto.stepfunctions.parser.api import (
        ExecutionStatus,
        InvalidToken,
        SendTaskFailureOutput,
        TaskDoesNotExist,
        TaskTimedOut,
    )
    from moto.stepfunctions.parser.asl.eval.callback.callback import (
        CallbackConsumerTimeout,
        CallbackNotifyConsumerError,
        CallbackOutcomeFailure,
        CallbackOutcomeSuccess,
    )
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend as Backend

    if getattr(Backend.send_task_heartbeat, "_embedded", False):
        return
    originals = {
        name: getattr(Backend, name) for name in ("send_task_heartbeat", "send_task_success", "send_task_failure")
    }

    def find(backend: Any, status: Any, deliver: Any) -> None:
        for execution in backend._get_executions(status):
            pool = getattr(getattr(getattr(execution, "exec_worker", None), "env", None), "callback_pool_manager", None)
            if pool is None:
                continue  # its interpreter (worker, or the worker's environment) is gone: it waits for no token
            try:
                if deliver(pool):
                    return
            except CallbackNotifyConsumerError as error:
                raise TaskTimedOut() if isinstance(error, CallbackConsumerTimeout) else TaskDoesNotExist() from None
        raise InvalidToken()

    def send_task_heartbeat(self, task_token):
        if not STATE.active:
            return originals["send_task_heartbeat"](self, task_token)
        find(self, ExecutionStatus.RUNNING, lambda pool: pool.heartbeat(callback_id=task_token))

    def send_task_success(self, task_token, outcome):
        if not STATE.active:
            return originals["send_task_success"](self, task_token, outcome)
        result = CallbackOutcomeSuccess(callback_id=task_token, output=outcome)
        find(self, ExecutionStatus.RUNNING, lambda pool: pool.notify(callback_id=task_token, outcome=result))

    def send_task_failure(self, task_token, error=None, cause=None):
        if not STATE.active:
            return originals["send_task_failure"](self, task_token, error, cause)
        result = CallbackOutcomeFailure(callback_id=task_token, error=error, cause=cause)
        find(self, None, lambda pool: pool.notify(callback_id=task_token, outcome=result))
        return SendTaskFailureOutput()

    for method in (send_task_heartbeat, send_task_success, send_task_failure):
        method._embedded = True
        setattr(Backend, method.__name__, method)


_children_lock = threading.Lock()
_children: dict[str, set[str]] = {}  # execution ARN -> ARNs of the executions its `.sync` tasks started


# moto marks an execution RUNNING and starts its thread, which assigns the worker's environment only once it has
# parsed the definition; a stop in that window (a round stopped as it starts, on a busy machine) raised
# AttributeError and left the execution running.
ENVIRONMENT_WAIT_SECONDS = 10.0


def _wait_for_environment(worker: Any) -> None:
    deadline = time.monotonic() + ENVIRONMENT_WAIT_SECONDS
    while worker is not None and getattr(worker, "env", True) is None and time.monotonic() < deadline:
        time.sleep(0.01)


def _install_stop() -> None:
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.responses import get_backend

    if getattr(Execution.stop, "_embedded", False):
        return
    original_stop = Execution.stop

    def stop(self, stop_date, error, cause):
        _wait_for_environment(self.exec_worker)
        original_stop(self, stop_date, error, cause)
        if not STATE.active:
            return
        if self.exec_status == ExecutionStatus.RUNNING:
            self.exec_status, self.stop_date = ExecutionStatus.ABORTED, stop_date
        pool = getattr(getattr(self.exec_worker, "env", None), "callback_pool_manager", None)
        for endpoint in list(getattr(pool, "_pool", {}).values()):
            endpoint.interrupt_all()  # a task-token wait returns; the stopped interpreter runs no further state
        with _children_lock:
            children = _children.pop(self.exec_arn, set())
        backend = get_backend(self.account_id, self.region_name)
        for child in sorted(children):
            if backend.describe_execution(child).exec_status == ExecutionStatus.RUNNING:
                backend.stop_execution(child)

    stop._embedded = True
    Execution.stop = stop

    original_set_error = Environment.set_error

    def set_error(self, error):
        if STATE.active and isinstance(self.program_state(), ProgramStopped):
            return
        original_set_error(self, error)

    Environment.set_error = set_error

    def recording(build):
        def wrapper(self, env, *args, **kwargs):
            if STATE.active:
                parent = env.states.context_object.context_object_data["Execution"]["Id"]
                with _children_lock:
                    _children.setdefault(parent, set()).add(env.stack[-1]["ExecutionArn"])
            return build(self, env, *args, **kwargs)

        return wrapper

    for name in ("_build_sync_resolver", "_build_sync2_resolver"):
        setattr(StateTaskServiceSfn, name, recording(getattr(StateTaskServiceSfn, name)))
