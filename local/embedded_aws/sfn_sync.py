"""(c) `arn:aws:states:::states:startExecution.sync` and `.sync:2` (and plain startExecution).

WHY: moto's StateTaskServiceSfn passes the ASL parameters ("StateMachineArn", "Input", "Name") to boto3
unchanged and reads "ExecutionArn" from the raw boto3 response, because the request/response
normalisation LocalStack does with the botocore shapes is a stub in moto
(StateTaskService._normalise_parameters/_normalise_response do nothing). Every startExecution task
fails with `States.Runtime` "'StateMachineArn'" (verified on moto 5.2.5).

MOTO INTERNALS TOUCHED (moto 5.2.5): StateTaskServiceSfn._normalise_parameters and
StateTaskServiceSfn._normalise_response (set on that class only - other services keep moto's behaviour).
They use StateTaskService._to_boto_request / _from_boto_response, which moto ships intact.

Result, as on AWS: the task output is DescribeExecution in Step Functions casing (ExecutionArn, Input,
Output, Status, StartDate, StopDate, ...) with timestamps as epoch milliseconds; `.sync:2` parses Input
and Output as JSON, `.sync` leaves them strings; a child that fails/aborts/times out fails the task
with States.TaskFailed and the DescribeExecution JSON as cause (moto's own resolvers do that part).
"""

from __future__ import annotations

import datetime
import functools
from typing import Any

from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.utils import camel_to_snake_case


@functools.cache
def _service_model(service: str):
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@functools.cache
def operation_model(service: str, action: str):
    """The botocore OperationModel for an ASL action name like "startExecution" / "start_execution"."""
    model = _service_model(service)
    wanted = camel_to_snake_case(action)
    for name in model.operation_names:
        if camel_to_snake_case(name) == wanted:
            return model.operation_model(name)
    return None


def epoch_millis(value: Any) -> Any:
    """Timestamps inside service-integration output are epoch milliseconds on Step Functions."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return int(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {k: epoch_millis(v) for k, v in value.items()}
    if isinstance(value, list):
        return [epoch_millis(v) for v in value]
    return value


def normalise_request(task: Any, parameters: dict, service: str, action: str) -> None:
    op = operation_model(service, action)
    if op is not None and op.input_shape is not None:
        task._to_boto_request(parameters, op.input_shape)


def normalise_response(task: Any, response: Any, service: str, action: str) -> None:
    if not isinstance(response, dict):
        return
    response.pop("ResponseMetadata", None)
    op = operation_model(service, action)
    if op is not None and op.output_shape is not None:
        task._from_boto_response(response, op.output_shape)
    for key, value in list(response.items()):
        response[key] = epoch_millis(value)


def _sfn_normalise_parameters(self, parameters: dict, boto_service_name=None, service_action_name=None) -> None:
    action = self._get_boto_service_action(service_action_name)
    if action == "start_execution":
        optional_input = parameters.get("Input")
        if not isinstance(optional_input, str):
            # "If you don't include any JSON input data, you still must include the two braces."
            parameters["Input"] = to_json_str({} if optional_input is None else optional_input, separators=(",", ":"))
    normalise_request(self, parameters, self._get_boto_service_name(boto_service_name), action)


def _sfn_normalise_response(self, response: Any, boto_service_name=None, service_action_name=None) -> None:
    normalise_response(
        self,
        response,
        self._get_boto_service_name(boto_service_name),
        self._get_boto_service_action(service_action_name),
    )


def install() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    from .state import STATE

    original_params = StateTaskServiceSfn.__dict__["_normalise_parameters"]
    original_params = getattr(original_params, "_embedded_original", original_params)
    original_response = StateTaskServiceSfn._normalise_response  # inherited no-op

    def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
        if not STATE.active:
            return original_params(self, parameters, boto_service_name, service_action_name)
        return _sfn_normalise_parameters(self, parameters, boto_service_name, service_action_name)

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
        if not STATE.active:
            return original_response(self, response, boto_service_name, service_action_name)
        return _sfn_normalise_response(self, response, boto_service_name, service_action_name)

    _normalise_parameters._embedded_original = original_params
    StateTaskServiceSfn._normalise_parameters = _normalise_parameters
    StateTaskServiceSfn._normalise_response = _normalise_response
