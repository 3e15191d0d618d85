"""A real `terraform apply` and `destroy` of terraform/ against the embedded AWS (local/embedded_aws: moto
server + the project's extension), checked with boto3 against the same endpoint.

The launcher runs as a separate process exactly as local mode starts it
(`python -m local.embedded_aws --port 0 --state-dir DIR`); Terraform state lives in a temporary directory.
Timings and the resource count are printed (pytest -s) and recorded as test properties.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import boto3
import pytest

from .checkov_support import assert_clean, run_checkov
from .conftest import FUNCTIONS, REPO, TestTerraform, require_lambda_packages

pytestmark = pytest.mark.terraform

REGION = "us-east-1"
NAME_PREFIX = "tf-apply-test"


def invoked_functions(machine: str) -> set[str]:
    """The functions a state machine's ASL template invokes (its ${<key>_function_arn} placeholders)."""
    template = (REPO / "asl" / f"active_learning_{machine}.asl.json").read_text()
    return set(re.findall(r"\$\{([a-z0-9_]+)_function_arn\}", template))


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory):
    """The embedded AWS as a process; stopped (SIGTERM to the process we started) at the end."""
    state_dir = tmp_path_factory.mktemp("embedded-aws")
    process = subprocess.Popen(
        [sys.executable, "-m", "local.embedded_aws", "--port", "0", "--state-dir", str(state_dir)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=open(state_dir / "launcher.stderr", "w"),  # noqa: SIM115 - closed with the process
        text=True,
    )
    try:
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"the embedded AWS did not start:\n{(state_dir / 'launcher.stderr').read_text()[-5000:]}")
        ready = json.loads(line)
        assert ready["pid"] == process.pid
        yield ready["endpoint_url"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def deployment(endpoint, tmp_path_factory):
    """terraform apply; yields the outputs, the timings and a destroy function the last test calls."""
    require_lambda_packages()
    work_dir = tmp_path_factory.mktemp("terraform-apply")
    tf = TestTerraform.create(work_dir)
    tf.init()
    variables = {
        "region": REGION,
        "aws_endpoint_url": endpoint,
        "name_prefix": NAME_PREFIX,
        "force_destroy": True,
    }
    var_file = work_dir / "local.tfvars.json"
    var_file.write_text(json.dumps(variables))
    state = work_dir / "terraform.tfstate"
    common = ["-input=false", "-no-color", f"-state={state}", f"-var-file={var_file}"]

    plan_file = work_dir / "apply.tfplan"
    started = time.monotonic()
    tf.run("plan", *common, f"-out={plan_file}")
    applied = tf.run("apply", "-input=false", "-no-color", f"-state={state}", str(plan_file))
    apply_seconds = time.monotonic() - started
    added = int(re.search(r"Apply complete! Resources: (\d+) added", applied.stdout).group(1))
    outputs = {k: v["value"] for k, v in json.loads(tf.run("output", "-json", f"-state={state}").stdout).items()}
    plan_json = work_dir / "apply.tfplan.json"
    plan_json.write_text(tf.run("show", "-json", str(plan_file)).stdout)

    result = {
        "outputs": outputs,
        "timings": {"plan_and_apply_seconds": round(apply_seconds, 1)},
        "resources": added,
        "plan_json": plan_json,
    }

    def plan_exit_code() -> int:
        return tf.run("plan", "-detailed-exitcode", *common, check=False).returncode

    def destroy() -> int:
        started = time.monotonic()
        destroyed = tf.run("destroy", "-auto-approve", *common)
        result["timings"]["destroy_seconds"] = round(time.monotonic() - started, 1)
        return int(re.search(r"Destroy complete! Resources: (\d+) destroyed", destroyed.stdout).group(1))

    result["plan_exit_code"] = plan_exit_code
    result["destroy"] = destroy
    yield result


@pytest.fixture(scope="module")
def aws(endpoint):
    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


def test_functions(deployment, aws):
    lam = aws("lambda")
    outputs = deployment["outputs"]
    assert set(outputs["function_names"]) == set(FUNCTIONS)
    for key in FUNCTIONS:
        config = lam.get_function(FunctionName=f"{NAME_PREFIX}-{key.replace('_', '-')}")["Configuration"]
        assert config["Handler"] == f"{key}.handler.lambda_handler"
        assert config["Runtime"] == "python3.12"
        assert config["Architectures"] == ["x86_64"]
        assert config["TracingConfig"] == {"Mode": "Active"}
        assert config["Role"] == f"arn:aws:iam::123456789012:role/{NAME_PREFIX}-{key.replace('_', '-')}-lambda"
        assert config["FunctionArn"] == outputs["function_arns"][key]
        env = config["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == key
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == NAME_PREFIX
        streaming = key not in {"validate_input", "request_callback_labels", "record_failure", "notify_run_events"}
        assert (config["MemorySize"], config["Timeout"]) == ((1024, 900) if streaming else (256, 60))

    validate = lam.get_function(FunctionName=f"{NAME_PREFIX}-validate-input")["Configuration"]["Environment"][
        "Variables"
    ]
    assert validate["SAGEMAKER_ROLE_ARN"] == outputs["sagemaker_role_arn"]
    assert validate["JOB_NAME_PREFIX"] == "tf-apply-t"
    assert json.loads(validate["WORKFLOW_DEFAULTS"])["LabelingBackend"] == "callback"
    callback = lam.get_function(FunctionName=f"{NAME_PREFIX}-request-callback-labels")["Configuration"]
    assert callback["Environment"]["Variables"]["LABELING_TOPIC_ARN"] == outputs["labeling_topic_arn"]
    training = lam.get_function(FunctionName=f"{NAME_PREFIX}-prepare-training")["Configuration"]
    assert json.loads(training["Environment"]["Variables"]["MODEL_CONFIG"]) == outputs["model_config"]


def test_log_groups(deployment, aws):
    groups = {g["logGroupName"]: g for g in aws("logs").describe_log_groups()["logGroups"]}
    for name in deployment["outputs"]["function_names"].values():
        assert groups[f"/aws/lambda/{name}"]["retentionInDays"] == 365
    for machine in ("loop", "round"):
        assert groups[f"/aws/vendedlogs/states/{NAME_PREFIX}-active-learning-{machine}"]["retentionInDays"] == 365


def test_iam_roles_and_policies(deployment, aws):
    iam = aws("iam")
    role = f"{NAME_PREFIX}-validate-input-lambda"
    policy = iam.get_role_policy(RoleName=role, PolicyName="function")["PolicyDocument"]
    policy = json.loads(policy) if isinstance(policy, str) else policy
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert "s3:PutObject" not in actions, "ValidateInput is read-only"
    loop = iam.get_role_policy(RoleName=f"{NAME_PREFIX}-active-learning-loop-states", PolicyName="state-machine")[
        "PolicyDocument"
    ]
    loop = json.loads(loop) if isinstance(loop, str) else loop
    start = next(s for s in loop["Statement"] if s["Sid"] == "StartRoundExecutions")
    assert start["Resource"] == [deployment["outputs"]["round_state_machine_arn"]]


def test_state_machines(deployment, aws):
    sfn = aws("stepfunctions")
    outputs = deployment["outputs"]
    asl = REPO / "asl"
    # every function is used: by a state machine, or (NotifyRunEvents) by the run-events rules and alarms
    assert invoked_functions("loop") | invoked_functions("round") == set(FUNCTIONS) - {"notify_run_events"}
    for machine in ("loop", "round"):
        functions = invoked_functions(machine)
        described = sfn.describe_state_machine(stateMachineArn=outputs[f"{machine}_state_machine_arn"])
        definition = described["definition"]
        assert "${" not in definition
        rendered = json.loads(definition)
        template = json.loads((asl / f"active_learning_{machine}.asl.json").read_text())
        assert set(rendered["States"]) == set(template["States"])
        invoked = set(re.findall(r"arn:aws:lambda:[^\"]+", definition))
        assert invoked == {outputs["function_arns"][key] for key in functions}
        assert described["roleArn"] == outputs["state_machine_role_arns"][machine]
        assert described["type"] == "STANDARD"
        assert described["tracingConfiguration"] == {"enabled": True}
        assert described["loggingConfiguration"]["level"] == "ALL"
        # AWS omits includeExecutionData when it is false (so does moto)
        assert described["loggingConfiguration"].get("includeExecutionData", False) is False
    loop = json.loads(sfn.describe_state_machine(stateMachineArn=outputs["loop_state_machine_arn"])["definition"])
    assert (
        loop["States"]["RunActiveLearningRound"]["Parameters"]["StateMachineArn"] == outputs["round_state_machine_arn"]
    )
    assert loop["States"]["LabelWithGroundTruth"]["Parameters"]["RoleArn"] == outputs["sagemaker_role_arn"]


def test_bucket(deployment, aws):
    s3 = aws("s3")
    bucket = deployment["outputs"]["bucket_name"]
    assert bucket == f"{NAME_PREFIX}-123456789012-{REGION}"
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    [deny] = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules["abort-incomplete-multipart-uploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rules["expire-intermediate-objects"]["Filter"] == {"Tag": {"Key": "intermediate", "Value": "true"}}
    assert rules["expire-intermediate-objects"]["Expiration"] == {"Days": 7}


def test_topic_and_repository(deployment, aws):
    outputs = deployment["outputs"]
    attributes = aws("sns").get_topic_attributes(TopicArn=outputs["labeling_topic_arn"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == "alias/aws/sns"
    [repository] = aws("ecr").describe_repositories(repositoryNames=[f"{NAME_PREFIX}/text-classifier"])["repositories"]
    assert repository["repositoryUri"] == outputs["ecr_repository_url"]
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}


def test_run_events_and_monitoring(deployment, aws):
    """As applied: the run-events topic and its policy, the rules and their target, the alarms acting through
    NotifyRunEvents, the dashboard, the wait check."""
    outputs = deployment["outputs"]
    notifier = outputs["function_arns"]["notify_run_events"]
    topic = aws("sns").get_topic_attributes(TopicArn=outputs["run_events_topic_arn"])["Attributes"]
    policy = json.loads(topic["Policy"])
    assert {statement["Sid"] for statement in policy["Statement"]} == {"AccountUsesTheTopic", "TlsOnly"}
    events = aws("events")
    rules = {rule["Name"]: rule for rule in events.list_rules(NamePrefix=NAME_PREFIX)["Rules"]}
    expected = ("execution-status", "human-batch-waiting", "waiting-check")
    assert set(rules) == {f"{NAME_PREFIX}-{name}" for name in expected}
    for name in rules:
        [target] = events.list_targets_by_rule(Rule=name)["Targets"]
        assert target["Arn"] == notifier
    pattern = json.loads(rules[f"{NAME_PREFIX}-execution-status"]["EventPattern"])
    assert pattern["detail"]["stateMachineArn"] == [outputs["loop_state_machine_arn"]]
    alarms = aws("cloudwatch").describe_alarms(AlarmNamePrefix=NAME_PREFIX)["MetricAlarms"]
    assert len(alarms) == len(FUNCTIONS) + 2 and all(alarm["AlarmActions"] == [notifier] for alarm in alarms)
    assert aws("cloudwatch").get_dashboard(DashboardName=outputs["dashboard_name"])["DashboardBody"]
    permissions = json.loads(aws("lambda").get_policy(FunctionName=notifier)["Policy"])["Statement"]
    assert {p["Principal"]["Service"] for p in permissions} == {
        "events.amazonaws.com",
        "lambda.alarms.cloudwatch.amazonaws.com",
    }


def test_start_execution_command(deployment, endpoint):
    command = deployment["outputs"]["start_execution_command"]
    assert command.startswith(f"aws stepfunctions start-execution --endpoint-url {endpoint} --region {REGION} ")
    assert f"--state-machine-arn {deployment['outputs']['loop_state_machine_arn']}" in command


def test_second_plan_has_no_changes(deployment):
    """Everything Terraform wrote reads back identically (no perpetual diff)."""
    assert deployment["plan_exit_code"]() == 0


def test_checkov_on_the_rendered_plan(deployment):
    """checkov on the plan JSON sees every policy fully rendered (the directory scan cannot evaluate the
    jsonencode()d locals); the inline #checkov:skip comments are honoured via --repo-root-for-plan-enrichment."""
    checkov = os.environ.get("CHECKOV")
    if not checkov:
        pytest.skip(
            "CHECKOV is not set: point it at a checkov executable, e.g. CHECKOV=build/tools/checkov/bin/checkov"
        )
    report = run_checkov(
        checkov,
        "-f",
        str(deployment["plan_json"]),
        "--framework",
        "terraform_plan",
        "--repo-root-for-plan-enrichment",
        str(REPO / "terraform"),
    )
    assert_clean(report)
    passed = {check["check_id"] for check in report["results"]["passed_checks"]}
    # the IAM checks really ran on rendered policies
    assert {"CKV_AWS_286", "CKV_AWS_287", "CKV_AWS_288", "CKV_AWS_289", "CKV_AWS_290", "CKV_AWS_355"} <= passed


def test_destroy(deployment, aws, record_property):
    """Last: destroy everything and report the measurements."""
    destroyed = deployment["destroy"]()
    assert destroyed == deployment["resources"]
    assert aws("lambda").list_functions()["Functions"] == []
    assert aws("stepfunctions").list_state_machines()["stateMachines"] == []
    record_property("terraform_resources", deployment["resources"])
    for name, seconds in deployment["timings"].items():
        record_property(name, seconds)
    print(
        f"\nterraform plan+apply: {deployment['resources']} resources in "
        f"{deployment['timings']['plan_and_apply_seconds']} s; destroy in {deployment['timings']['destroy_seconds']} s"
    )
