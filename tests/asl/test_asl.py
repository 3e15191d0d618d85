"""Static checks of the two state machine definitions, before and after rendering."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from labeling_common.errors import ERROR_NAMES
from labeling_common.schemas import registry

REPO = Path(__file__).resolve().parents[2]
ASL = {path.name: path for path in sorted((REPO / "asl").glob("*.asl.json"))}
FUNCTIONS = {path.parent.name for path in (REPO / "functions").glob("*/handler.py")}
# Invoked by EventBridge rules and CloudWatch alarm actions (terraform/notifications.tf), not by a state.
EVENT_DRIVEN = {"notify_run_events"}
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
LAMBDA_TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
SERVICE_ERROR_PREFIXES = ("States.", "Lambda.", "SageMaker.", "StepFunctions.", "EventBridge.")


def placeholders(text):
    return set(PLACEHOLDER.findall(text))


def render(text):
    """What Terraform's templatefile produces, with syntactically valid ARNs."""
    values = {}
    for name in placeholders(text):
        if name.endswith("_function_arn"):
            values[name] = f"arn:aws:lambda:eu-west-1:123456789012:function:al-{name.removesuffix('_function_arn')}"
        elif name == "round_state_machine_arn":
            values[name] = "arn:aws:states:eu-west-1:123456789012:stateMachine:al-active-learning-round"
        elif name == "sagemaker_role_arn":
            values[name] = "arn:aws:iam::123456789012:role/al-sagemaker"
        else:
            raise AssertionError(f"unexpected placeholder {name}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def states_of(document):
    return document["States"]


def test_two_state_machines():
    assert set(ASL) == {"active_learning_loop.asl.json", "active_learning_round.asl.json"}


@pytest.mark.parametrize("name", ASL)
def test_template_is_valid_json_with_placeholders_only_inside_strings(name):
    text = ASL[name].read_text()
    json.loads(text)
    assert "%{" not in text, "templatefile treats %{ as a directive"
    for found in placeholders(text):
        assert re.fullmatch(r"[a-z][a-z0-9_]*", found), found
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)  # remove every JSON string
    assert "${" not in stripped


@pytest.mark.parametrize("name", ASL)
def test_placeholders_are_the_ones_terraform_supplies(name):
    found = placeholders(ASL[name].read_text())
    for placeholder in found:
        if placeholder.endswith("_function_arn"):
            assert placeholder.removesuffix("_function_arn") in FUNCTIONS
    expected_extra = {
        "active_learning_loop.asl.json": {"round_state_machine_arn", "sagemaker_role_arn"},
        "active_learning_round.asl.json": set(),
    }[name]
    assert {p for p in found if not p.endswith("_function_arn")} == expected_extra


def test_every_function_is_used_by_a_state_machine():
    used = set()
    for path in ASL.values():
        used |= {p.removesuffix("_function_arn") for p in placeholders(path.read_text()) if p.endswith("_function_arn")}
    assert used == FUNCTIONS - EVENT_DRIVEN and EVENT_DRIVEN <= FUNCTIONS


@pytest.mark.parametrize("name", ASL)
def test_statelint_accepts_the_rendered_definition(name, tmp_path):
    rendered = tmp_path / name
    rendered.write_text(render(ASL[name].read_text()))
    result = subprocess.run(
        [str(Path(sys.executable).with_name("statelint")), str(rendered)], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_statelint_really_catches_errors(tmp_path):
    document = json.loads(render(ASL["active_learning_round.asl.json"].read_text()))
    document["States"]["PrepareTraining"]["Next"] = "NoSuchState"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    result = subprocess.run(
        [str(Path(sys.executable).with_name("statelint")), str(broken)], capture_output=True, text=True
    )
    assert "NoSuchState" in result.stdout


def transitions(state):
    targets = [state.get("Next"), state.get("Default")]
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    return [t for t in targets if t]


@pytest.mark.parametrize("name", ASL)
def test_every_transition_exists_and_every_state_is_reachable(name):
    states = states_of(json.loads(ASL[name].read_text()))
    document = json.loads(ASL[name].read_text())
    for state_name, state in states.items():
        for target in transitions(state):
            assert target in states, f"{state_name} -> {target}"
    seen, todo = set(), [document["StartAt"]]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(transitions(states[current]))
    assert seen == set(states)


def lambda_function(state):
    resource = state.get("Resource", "")
    if resource.endswith("_function_arn}"):
        return resource[2:].removesuffix("_function_arn}")
    if resource.startswith("arn:aws:states:::lambda:invoke"):
        return state["Parameters"]["FunctionName"][2:].removesuffix("_function_arn}")
    return None


@pytest.mark.parametrize("name", ASL)
def test_every_task_retries_transient_errors_and_catches_to_a_failure_path(name):
    states = states_of(json.loads(ASL[name].read_text()))
    for state_name, state in states.items():
        if state["Type"] != "Task":
            continue
        catchers = state.get("Catch", [])
        assert catchers and catchers[-1]["ErrorEquals"] == ["States.ALL"], state_name
        assert all(c.get("ResultPath", "$") != "$" for c in catchers), f"{state_name}: a Catch must keep the state"
        retried = {error for retry in state.get("Retry", []) for error in retry["ErrorEquals"]}
        if lambda_function(state):
            assert retried >= LAMBDA_TRANSIENT, state_name
        else:
            assert retried, state_name


@pytest.mark.parametrize("name", ASL)
def test_error_names_are_service_errors_or_the_workflow_errors(name):
    states = states_of(json.loads(ASL[name].read_text()))
    for state in states.values():
        for rule in state.get("Retry", []) + state.get("Catch", []):
            for error in rule["ErrorEquals"]:
                assert error.startswith(SERVICE_ERROR_PREFIXES) or error in ERROR_NAMES, error
        for error in ("InvalidInput",):  # workflow errors are never retried
            assert all(error not in r["ErrorEquals"] for r in state.get("Retry", []))


@pytest.mark.parametrize("name", ASL)
def test_lambda_payloads_match_the_event_contracts(name):
    """The keys a state passes to a function are exactly what its event schema allows and requires."""
    states = states_of(json.loads(ASL[name].read_text()))
    resolver = registry().resolver()
    for state_name, state in states.items():
        function = lambda_function(state)
        if not function:
            continue
        parameters = state["Parameters"]
        payload = parameters.get("Payload", parameters)
        keys = {key.removesuffix(".$") for key in payload}
        contract = resolver.lookup(
            f"https://schemas.active-labeling.dev/v1/workflow-state.schema.json#/$defs/events/{function}"
        ).contents
        assert set(contract["required"]) <= keys <= set(contract["properties"]), state_name


@pytest.mark.parametrize("name", ASL)
def test_sagemaker_and_nested_tasks_keep_only_what_they_need(name):
    states = states_of(json.loads(ASL[name].read_text()))
    for state_name, state in states.items():
        resource = state.get("Resource", "")
        if resource.endswith(".sync") or resource.endswith(".sync:2"):
            assert "ResultSelector" in state or state.get("ResultPath", "$") is None, state_name


def test_sagemaker_request_keys_are_all_built_by_the_functions():
    """TrainModel / RunInference pass every top-level request key; the functions always set all of them."""
    from prepare_inference.logic import transform_request
    from prepare_training.logic import training_request

    from tests.support import MODEL_CONFIG

    states = states_of(json.loads(ASL["active_learning_round.asl.json"].read_text()))
    training = training_request(
        MODEL_CONFIG,
        job_name="j",
        run_id="r",
        round_number=1,
        channels={"train": "s3://b/t/train.jsonl"},
        output_uri="s3://b/m/",
        kms_key_id=None,
    )
    transform = transform_request(
        MODEL_CONFIG,
        job_name="j",
        model_name="m",
        run_id="r",
        round_number=1,
        input_prefix="s3://b/i/",
        output_prefix="s3://b/o/",
        kms_key_id=None,
    )
    assert {k.removesuffix(".$") for k in states["TrainModel"]["Parameters"]} == set(training)
    assert {k.removesuffix(".$") for k in states["RunInference"]["Parameters"]} == set(transform)


def test_nested_round_uses_sync2_and_the_arn_passed_in():
    states = states_of(json.loads(ASL["active_learning_loop.asl.json"].read_text()))
    round_state = states["RunActiveLearningRound"]
    assert round_state["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert round_state["Parameters"]["StateMachineArn"] == "${round_state_machine_arn}"
    assert round_state["Parameters"]["Name.$"] == "$.progress.round_execution_name"


def test_jsonpath_only():
    for path in ASL.values():
        assert "JSONata" not in path.read_text()
