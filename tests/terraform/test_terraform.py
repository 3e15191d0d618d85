"""terraform fmt / validate / test on terraform/, and MODEL_CONFIG checked against the repository's schema.

`terraform test` runs terraform/tests/*.tftest.hcl with a mocked AWS provider (no account, no network).
"""

from __future__ import annotations

import json
import re

import pytest
from validate_input.logic import BUILTIN_DEFAULTS, check_defaults

from labeling_common import schemas, settings

from .conftest import TERRAFORM_DIR, require_lambda_packages

pytestmark = pytest.mark.terraform


def test_fmt(terraform):
    result = terraform.run("fmt", "-check", "-recursive", "-diff", "-no-color", check=False)
    assert result.returncode == 0, f"terraform fmt -check found unformatted files:\n{result.stdout}{result.stderr}"


def test_validate(terraform):
    result = terraform.run("validate", "-json", "-no-color", check=False)
    report = json.loads(result.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
    assert report["warning_count"] == 0, json.dumps(report["diagnostics"], indent=2)


def test_terraform_test(terraform):
    """Every .tftest.hcl: plan-time IAM, ASL, environment, preset and validation checks."""
    require_lambda_packages()
    result = terraform.run("test", "-no-color", check=False)
    assert result.returncode == 0, f"terraform test failed:\n{result.stdout[-30000:]}\n{result.stderr[-10000:]}"
    assert "0 failed" in result.stdout, result.stdout


def _verbose_plans(terraform, test_file: str) -> dict[str, dict]:
    """{run name: plan JSON} of one test file, from `terraform test -json -verbose`."""
    result = terraform.run("test", "-json", "-verbose", "-no-color", f"-filter={test_file}", check=False)
    messages = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    failures = [m for m in messages if m.get("@level") == "error" or m.get("test_run", {}).get("status") == "fail"]
    assert result.returncode == 0 and not failures, json.dumps(failures, indent=1)[-20000:] + result.stderr
    return {m["@testrun"]: m["test_plan"] for m in messages if m.get("type") == "test_plan"}


@pytest.fixture(scope="module")
def model_config_plans(terraform):
    require_lambda_packages()
    plans = _verbose_plans(terraform, "tests/model_config.tftest.hcl")
    # A run that expects its plan to fail (a missing source archive) has no model_config to check.
    plans = {run: plan for run, plan in plans.items() if "model_config" in plan.get("output_changes", {})}
    assert set(plans) >= {"bundled_default", "bundled_image", "blazingtext", "custom"}, sorted(plans)
    return plans


def _lambda_environment(plan: dict, function: str) -> dict:
    address = f'module.lambda["{function}"].aws_lambda_function.this'
    change = next(c for c in plan["resource_changes"] if c["address"] == address)
    return change["change"]["after"]["environment"][0]["variables"]


def test_model_config_of_every_preset_matches_the_schema(model_config_plans):
    """What Terraform writes into MODEL_CONFIG is what the functions that load it accept."""
    for run, plan in model_config_plans.items():
        output = plan["output_changes"]["model_config"]["after"]
        error = schemas.find_error(output, "model-config.schema.json", root="model_config")
        assert error is None, f"run {run}: {error}"
        for function in ("create_validation_set", "prepare_training", "prepare_inference"):
            deployed = json.loads(_lambda_environment(plan, function)["MODEL_CONFIG"])
            assert deployed == output, f"run {run}: {function} MODEL_CONFIG differs from the output"
            error = schemas.find_error(deployed, "model-config.schema.json", root="MODEL_CONFIG")
            assert error is None, f"run {run}, {function}: {error}"


def test_blazingtext_extras_keep_their_json_type(model_config_plans):
    deployed = json.loads(_lambda_environment(model_config_plans["blazingtext"], "prepare_training")["MODEL_CONFIG"])
    assert deployed["transform_record_extras"] == {"k": 1000000}
    assert isinstance(deployed["transform_record_extras"]["k"], int)


def test_workflow_defaults_pass_validate_inputs_own_check(model_config_plans):
    """WORKFLOW_DEFAULTS (Terraform's typed variables) names exactly the settings of the request schema, the one
    source of every setting, with the schema's defaults, and passes the check ValidateInput runs on it."""
    for run, plan in model_config_plans.items():
        defaults = json.loads(_lambda_environment(plan, "validate_input")["WORKFLOW_DEFAULTS"])
        assert set(defaults) == set(BUILTIN_DEFAULTS), f"run {run}: {sorted(set(defaults) ^ set(BUILTIN_DEFAULTS))}"
        assert check_defaults(defaults) == defaults
        assert defaults == BUILTIN_DEFAULTS, "the Terraform variables' defaults must equal the request schema's"


def _range_text(schema: dict) -> str | None:
    """A setting's range as the descriptions write it, e.g. "(0.5 < x <= 0.9999)" or "(x >= 0)"."""
    low = next(((schema[k], op) for k, op in (("exclusiveMinimum", "<"), ("minimum", "<=")) if k in schema), None)
    high = next(((schema[k], op) for k, op in (("exclusiveMaximum", "<"), ("maximum", "<=")) if k in schema), None)
    if high is None:
        return None if low is None else f"(x {low[1].replace('<', '>')} {low[0]})"
    return f"({f'{low[0]} {low[1]} ' if low else ''}x {high[1]} {high[0]})"


def test_setting_variables_describe_the_schemas_range_choices_and_default():
    """Descriptions cannot read the schema, as the validations do: what they and the README's table of workflow
    defaults state (range, allowed values, default) must still be the request schema's."""
    variables_tf = (TERRAFORM_DIR / "variables.tf").read_text()
    described = dict(re.findall(r'variable "(\w+)" \{\s*description\s*=\s*"((?:[^"\\]|\\.)*)"', variables_tf))
    readme = (TERRAFORM_DIR / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z0-9_]+)` \| `[a-z]+` \| (.*) \|$", readme, re.MULTILINE))
    for name, schema in settings.every_setting().items():
        variable = settings.config_key(name)
        default, row_description = rows[variable].split(" | ", 1)
        assert json.loads(default.strip("`")) == schema["default"], f"README.md: {variable}'s default"
        range_text = _range_text(schema)
        expected = [range_text] if range_text else list(schema.get("enum", []))
        for text in expected:
            assert text in described[variable], f"variables.tf: {variable}'s description lacks {text}"
            assert text in row_description, f"README.md: {variable}'s row lacks {text}"


def test_asl_placeholders_are_all_supplied():
    """Every ${...} in asl/*.asl.json is a variable main.tf passes to templatefile (the rest is checked by
    `terraform test`: a missing one fails templatefile, a surviving one fails the assertions)."""
    main_tf = (TERRAFORM_DIR / "main.tf").read_text() + (TERRAFORM_DIR / "locals.tf").read_text()
    assert '"${key}_function_arn"' in main_tf
    for path in (TERRAFORM_DIR.parent / "asl").glob("*.asl.json"):
        for name in set(re.findall(r"\$\{([^}]*)\}", path.read_text())):
            assert name.endswith("_function_arn") or re.search(rf"\b{name}\s*=", main_tf), f"{path.name}: {name}"


def test_readme_documents_every_variable_and_output():
    """terraform/README.md's hand-written Inputs/Outputs tables must stay complete."""
    readme = (TERRAFORM_DIR / "README.md").read_text()
    variables = re.findall(r'^variable "([^"]+)"', (TERRAFORM_DIR / "variables.tf").read_text(), re.MULTILINE)
    outputs = re.findall(r'^output "([^"]+)"', (TERRAFORM_DIR / "outputs.tf").read_text(), re.MULTILINE)
    documented = set(re.findall(r"^\| `([a-z0-9_]+)` \|", readme, re.MULTILINE))
    assert variables and outputs
    assert set(variables) - documented == set(), "variables missing from README.md"
    assert set(outputs) - documented == set(), "outputs missing from README.md"
    assert documented - set(variables) - set(outputs) == set(), "README.md documents names that do not exist"
