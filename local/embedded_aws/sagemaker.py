"""(d) SageMaker in local mode: real jobs behind moto's API, and the Step Functions integrations.

WHY: moto 5.2.5 records CreateTrainingJob/CreateTransformJob as instantly "Completed" without running
anything, has no labeling jobs, and its ASL interpreter lists `sagemaker` as an unsupported service
(state_task_service_factory._UNSUPPORTED_SERVICE_NAMES), so every `arn:aws:states:::sagemaker:*` task
fails at definition time.

MOTO INTERNALS TOUCHED (moto 5.2.5):
  * SageMakerModelBackend.create_training_job / create_transform_job - wrapped: reject a duplicate job
    name / unknown model like AWS, mark the moto job InProgress and run it in a background thread
    (sagemaker_jobs.py), which updates the moto job object's attributes (training_job_status,
    secondary_status, failure_reason, model_artifacts, ...) that moto's Describe*/List* responses
    are generated from.
  * SageMakerResponse - adds create_labeling_job / describe_labeling_job / list_labeling_jobs
    (labeling.py keeps the jobs).
  * state_task_factory.state_task_service_for - wrapped: "sagemaker" gets StateTaskServiceSageMaker,
    a StateTaskServiceCallback subclass below (request-response, .sync and .waitForTaskToken).

All of it applies only while an embedded AWS runs in the process (STATE.active); otherwise moto as shipped.

The .sync integrations poll Describe* (moto's 0.5 s loop) and return the Describe* response in Step
Functions form (timestamps as epoch milliseconds); Failed/Stopped fails the task with States.TaskFailed
and the Describe* JSON as cause, as AWS does. A SageMaker API error fails the task with
`SageMaker.AmazonSageMakerException` (ValidationException) or `SageMaker.<ErrorCode>`.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from typing import Any, Final

from botocore.exceptions import ClientError

from . import labeling
from . import sagemaker_jobs as jobs
from .sfn_sync import normalise_request, normalise_response, operation_model
from .state import STATE

# action (lowercase) -> (describe action, name parameter, status key, {terminal status: succeeded?})
_SYNC_ACTIONS: Final[dict[str, tuple[str, str, str, dict[str, bool]]]] = {
    "createtrainingjob": (
        "describe_training_job",
        "TrainingJobName",
        "TrainingJobStatus",
        {"Completed": True, "Failed": False, "Stopped": False},
    ),
    "createtransformjob": (
        "describe_transform_job",
        "TransformJobName",
        "TransformJobStatus",
        {"Completed": True, "Failed": False, "Stopped": False},
    ),
    "createlabelingjob": (
        "describe_labeling_job",
        "LabelingJobName",
        "LabelingJobStatus",
        {"Completed": True, "Failed": False, "Stopped": False},
    ),
}
# Request-response actions (moto implements these; Stop*Job it does not).
_REQUEST_RESPONSE_ACTIONS: Final[set[str]] = {
    "createmodel",
    "deletemodel",
    "createtrainingjob",
    "createtransformjob",
    "createlabelingjob",
    "createendpointconfig",
    "createendpoint",
    "deleteendpoint",
    "deleteendpointconfig",
}


def _service_task_class():
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils import boto_client
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    class StateTaskServiceSageMaker(StateTaskServiceCallback):
        def __init__(self):
            super().__init__(
                supported_integration_patterns={ResourceCondition.Sync, ResourceCondition.WaitForTaskToken}
            )

        def _get_supported_parameters(self) -> set[str] | None:
            action = self.resource.api_action.lower()
            if action not in _REQUEST_RESPONSE_ACTIONS:
                return None
            if self.resource.condition == ResourceCondition.Sync and action not in _SYNC_ACTIONS:
                return None
            op = operation_model("sagemaker", self.resource.api_action)
            return set(op.input_shape.members) if op is not None and op.input_shape is not None else None

        def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None) -> None:
            normalise_request(self, parameters, "sagemaker", self._get_boto_service_action(service_action_name))

        def _normalise_response(self, response, boto_service_name=None, service_action_name=None) -> None:
            normalise_response(self, response, "sagemaker", self._get_boto_service_action(service_action_name))

        def _client(self, region: str, credentials: Any):
            # Looked up at call time: sfn_fixes rebinds boto_client_for to the embedded endpoint.
            return boto_client.boto_client_for(region=region, service="sagemaker", state_credentials=credentials)

        def _from_error(self, env, ex: Exception):
            if isinstance(ex, ClientError):
                code = ex.response["Error"]["Code"]
                error = "SageMaker.AmazonSageMakerException" if code == "ValidationException" else f"SageMaker.{code}"
                cause = (
                    f"{ex.response['Error'].get('Message', '')} (Service: AmazonSageMaker; Status Code: "
                    f"{ex.response['ResponseMetadata'].get('HTTPStatusCode')}; Error Code: {code}; "
                    f"Request ID: {ex.response['ResponseMetadata'].get('RequestId')}; Proxy: null)"
                )
                return FailureEvent(
                    env=env,
                    error_name=CustomErrorName(error),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(
                        taskFailedEventDetails=TaskFailedEventDetails(
                            error=error,
                            cause=cause,
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                        )
                    ),
                )
            return super()._from_error(env=env, ex=ex)

        def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
            client = self._client(resource_runtime_part.region, state_credentials)
            response = getattr(client, self._get_boto_service_action())(**normalised_parameters)
            response.pop("ResponseMetadata", None)
            env.stack.append(response)

        def _build_sync_resolver(
            self, env, resource_runtime_part, normalised_parameters, state_credentials
        ) -> Callable[[], Any] | None:
            describe, name_param, status_key, terminal = _SYNC_ACTIONS[self.resource.api_action.lower()]
            client = self._client(resource_runtime_part.region, state_credentials)
            env.stack.pop()  # the Create* response
            name = normalised_parameters[name_param]

            def _resolver() -> Any | None:
                described = getattr(client, describe)(**{name_param: name})
                status = described.get(status_key)
                if status not in terminal:
                    return None
                self._normalise_response(described, service_action_name=describe)
                if terminal[status]:
                    return described
                raise FailureEventException(
                    FailureEvent(
                        env=env,
                        error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                        event_type=HistoryEventType.TaskFailed,
                        event_details=EventDetails(
                            taskFailedEventDetails=TaskFailedEventDetails(
                                resource=self._get_sfn_resource(),
                                resourceType=self._get_sfn_resource_type(),
                                error=StatesErrorNameType.StatesTaskFailed.to_name(),
                                cause=to_json_str(described),
                            )
                        ),
                    )
                )

            return _resolver

    return StateTaskServiceSageMaker


# --- backend ------------------------------------------------------------------------------------------------


def _wrap_backend() -> None:
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend

    if getattr(SageMakerModelBackend.create_training_job, "_embedded", False):
        return
    original_training = SageMakerModelBackend.create_training_job
    original_transform = SageMakerModelBackend.create_transform_job

    def create_training_job(self, training_job_name, hyper_parameters, algorithm_specification, *args, **kwargs):
        if not STATE.active:
            return original_training(
                self, training_job_name, hyper_parameters, algorithm_specification, *args, **kwargs
            )
        if training_job_name in self.training_jobs:
            raise ValidationError(
                message="Training job names must be unique within an AWS account and region, and a training "
                f"job with this name already exists ({self.training_jobs[training_job_name].arn})"
            )
        requested_spec = copy.deepcopy(algorithm_specification or {})
        job = original_training(self, training_job_name, hyper_parameters, algorithm_specification, *args, **kwargs)
        # moto replaces MetricDefinitions with a fake one and pretends the job already completed.
        job.algorithm_specification = requested_spec
        job.training_job_status = "InProgress"
        job.secondary_status = "Starting"
        job.secondary_status_transitions = []
        jobs._transition(job, "Starting", "Launching requested ML instances")
        job.model_artifacts = None
        job.final_metric_data_list = None
        job.training_end_time = None
        job.failure_reason = None
        job.training_time_in_seconds = None
        job.billable_time_in_seconds = None
        threading.Thread(
            target=jobs.run_training_job, args=(job,), name=f"training-{training_job_name}", daemon=True
        ).start()
        return job

    def create_transform_job(self, transform_job_name, model_name, *args, **kwargs):
        if not STATE.active:
            return original_transform(self, transform_job_name, model_name, *args, **kwargs)
        if transform_job_name in self.transform_jobs:
            raise ValidationError(
                message="Transform job names must be unique within an AWS account and region, and a transform "
                f"job with this name already exists ({self.transform_jobs[transform_job_name].arn})"
            )
        model = self.describe_model(model_name)  # ValidationError "Could not find model" like AWS
        job = original_transform(self, transform_job_name, model_name, *args, **kwargs)
        job.transform_job_status = "InProgress"
        job.failure_reason = None
        job.labeling_job_arn = None
        job.auto_ml_job_arn = None
        job.transform_end_time = None
        threading.Thread(
            target=jobs.run_transform_job, args=(job, model), name=f"transform-{transform_job_name}", daemon=True
        ).start()
        return job

    create_training_job._embedded = True
    SageMakerModelBackend.create_training_job = create_training_job
    SageMakerModelBackend.create_transform_job = create_transform_job


def _add_labeling_api() -> None:
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ResourceNotFound, ValidationError
    from moto.sagemaker.responses import SageMakerResponse
    from moto.sagemaker.utils import arn_formatter

    def create_labeling_job(self):
        request = json.loads(self.body or "{}")
        name = request.get("LabelingJobName")
        store = labeling.store(self.sagemaker_backend)
        if name in store:
            raise ValidationError(message=f"A labeling job with name {name} already exists")
        arn = arn_formatter("labeling-job", name, self.current_account, self.region)
        job = labeling.LabelingJob(request, arn)
        store[name] = job
        labeling.start(job)
        return ActionResult({"LabelingJobArn": arn})

    def describe_labeling_job(self):
        name = self._get_param("LabelingJobName")
        job = labeling.store(self.sagemaker_backend).get(name)
        if job is None:
            raise ResourceNotFound(message=f"Could not find labeling job with name {name}")
        return ActionResult(job.describe())

    def list_labeling_jobs(self):
        store = labeling.store(self.sagemaker_backend)
        status = self._get_param("StatusEquals")
        name_contains = self._get_param("NameContains")
        summaries = [
            j.summary()
            for j in store.values()
            if (not status or j.status == status) and (not name_contains or name_contains in j.name)
        ]
        return ActionResult({"LabelingJobSummaryList": summaries})

    SageMakerResponse.create_labeling_job = create_labeling_job
    SageMakerResponse.describe_labeling_job = describe_labeling_job
    SageMakerResponse.list_labeling_jobs = list_labeling_jobs


def install() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory

    _wrap_backend()
    _add_labeling_api()
    if not getattr(state_task_factory.state_task_service_for, "_embedded", False):
        original = state_task_factory.state_task_service_for
        service_class = _service_task_class()

        def state_task_service_for(service_name: str):
            if service_name == "sagemaker" and STATE.active:
                return service_class()
            return original(service_name=service_name)

        state_task_service_for._embedded = True
        state_task_factory.state_task_service_for = state_task_service_for
