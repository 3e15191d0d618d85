"""(a) ValidateStateMachineDefinition, and the same graph checks on Create/UpdateStateMachine.

WHY: the Terraform AWS provider (5.100) calls ValidateStateMachineDefinition before creating or
updating an aws_sfn_state_machine; moto 5.2.5 does not implement it, so `terraform apply` fails and
retries for minutes. AWS answers {"result": "OK"|"FAIL", "diagnostics": [...], "truncated": false}.

MOTO INTERNALS TOUCHED (moto 5.2.5):
  * adds StepFunctionResponse.validate_state_machine_definition (moto dispatches an action to the
    responses method of the same snake_case name);
  * wraps StepFunctionsParserBackend._validate_definition (a staticmethod run by Create/Update) so an
    unknown Next/Default target or a missing StartAt is rejected at creation like AWS does, not at run
    time; uses moto's AmazonStateLanguageParser for everything else.

Diagnostics: INVALID_JSON_DESCRIPTION (not JSON), MISSING_DESCRIPTION (empty), SCHEMA_VALIDATION_FAILED
(graph errors, errors of moto's ASL parser), INVALID_RESOURCE (a Task resource moto does not know),
MISSING_END_STATE. Only the `result` field is meant to be relied on (AWS says the same).
"""

from __future__ import annotations

import json
from typing import Any

from .state import STATE

_TERMINAL = {"Succeed", "Fail"}


def _diag(code: str, message: str, location: str | None = None) -> dict[str, str]:
    d = {"severity": "ERROR", "code": code, "message": message}
    if location:
        d["location"] = location
    return d


def _check_scope(scope: dict, where: str, out: list[dict]) -> None:
    states = scope.get("States")
    start = scope.get("StartAt")
    if not isinstance(states, dict) or not states:
        out.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [States]", where or "/"))
        return
    if not isinstance(start, str):
        out.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [StartAt]", where or "/"))
    elif start not in states:
        out.append(_diag("SCHEMA_VALIDATION_FAILED", f"Missing 'Next' target: {start}", f"{where}/StartAt"))
    has_end = False
    for name, state in states.items():
        loc = f"{where}/States/{name}"
        if not isinstance(state, dict):
            out.append(_diag("SCHEMA_VALIDATION_FAILED", "A state must be a JSON object", loc))
            continue
        typ = state.get("Type")
        targets: list[tuple[str, Any]] = []
        if "Next" in state:
            targets.append((f"{loc}/Next", state["Next"]))
        if typ == "Choice":
            for i, choice in enumerate(state.get("Choices") or []):
                if isinstance(choice, dict):
                    targets.append((f"{loc}/Choices/{i}/Next", choice.get("Next")))
            if "Default" in state:
                targets.append((f"{loc}/Default", state["Default"]))
        for i, catcher in enumerate(state.get("Catch") or []):
            if isinstance(catcher, dict):
                targets.append((f"{loc}/Catch/{i}/Next", catcher.get("Next")))
        for tloc, target in targets:
            if not isinstance(target, str) or target not in states:
                out.append(_diag("SCHEMA_VALIDATION_FAILED", f"Missing 'Next' target: {target}", tloc))
        if typ in _TERMINAL or state.get("End") is True:
            has_end = True
        elif typ not in ("Choice",) and "Next" not in state and typ is not None:
            out.append(_diag("SCHEMA_VALIDATION_FAILED", "These fields are required: [Next or End]", loc))
        for i, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, dict):
                _check_scope(branch, f"{loc}/Branches/{i}", out)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                _check_scope(state[key], f"{loc}/{key}", out)
    if not has_end:
        out.append(_diag("MISSING_END_STATE", "Workflow has no terminal state", where or "/"))


def diagnose(definition: str | None) -> list[dict[str, str]]:
    """All ERROR diagnostics for a definition (empty list = OK)."""
    if definition is None or not str(definition).strip():
        return [_diag("MISSING_DESCRIPTION", "Received a null or empty workflow input.")]
    try:
        doc = json.loads(definition)
    except ValueError as exc:
        return [_diag("INVALID_JSON_DESCRIPTION", f"Invalid JSON: {exc}")]
    if not isinstance(doc, dict):
        return [_diag("SCHEMA_VALIDATION_FAILED", "The state machine definition must be a JSON object", "/")]
    out: list[dict[str, str]] = []
    _check_scope(doc, "", out)
    if out:
        return out
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

    try:
        AmazonStateLanguageParser.parse(definition)
    except ASLParserException as exc:
        return [_diag("SCHEMA_VALIDATION_FAILED", str(e)) for e in (exc.errors or [repr(exc)])]
    except Exception as exc:  # noqa: BLE001 - moto reports semantic errors as assorted exceptions
        message = " ".join(str(a) for a in exc.args) or exc.__class__.__name__
        code = "INVALID_RESOURCE" if "resource" in message.lower() else "SCHEMA_VALIDATION_FAILED"
        return [_diag(code, f"{exc.__class__.__name__}: {message}")]
    return []


def validate_state_machine_definition(self):
    """StepFunctionResponse method for the ValidateStateMachineDefinition action."""
    from moto.core.responses import ActionResult

    diagnostics = diagnose(self._get_param("definition"))
    max_results = self._get_param("maxResults") or 100
    severity = self._get_param("severity") or "ERROR"
    shown = [d for d in diagnostics if severity == "WARNING" or d["severity"] == "ERROR"]
    return ActionResult(
        {
            "result": "FAIL" if diagnostics else "OK",
            "diagnostics": shown[: int(max_results)],
            "truncated": len(shown) > int(max_results),
        }
    )


def install() -> None:
    from moto.stepfunctions.parser.api import InvalidDefinition
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition

    original = StepFunctionsParserBackend.__dict__["_validate_definition"].__func__
    original = getattr(original, "_embedded_original", original)

    def _validate_definition(definition: str):
        original(definition)  # moto's parser first: its InvalidDefinition wording is kept
        if not STATE.active:
            return
        graph_errors: list[dict] = []
        try:
            doc = json.loads(definition)
        except ValueError:
            return
        if isinstance(doc, dict):
            _check_scope(doc, "", graph_errors)
        if graph_errors:
            raise InvalidDefinition(
                message="Invalid State Machine Definition: '"
                + ", ".join(f"{d['code']}: {d['message']} at {d.get('location', '/')}" for d in graph_errors)
                + "'"
            )

    _validate_definition._embedded_original = original
    StepFunctionsParserBackend._validate_definition = staticmethod(_validate_definition)
