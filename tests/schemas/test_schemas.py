"""Every schema is valid 2020-12, has a unique $id matching its file, resolves its $refs offline, accepts its
good fixtures and rejects its bad ones (tests/schemas/cases/<schema>/{good,bad}/*.json)."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from labeling_common import schemas

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILES = sorted((REPO / "schemas").glob("*.schema.json"))
CASES = Path(__file__).with_name("cases")


def fixtures(kind):
    return [
        pytest.param(path, id=f"{path.parent.parent.name}/{path.stem}")
        for path in sorted(CASES.glob(f"*/{kind}/*.json"))
    ]


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12_with_matching_id(path):
    document = json.loads(path.read_text())
    Draft202012Validator.check_schema(document)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["$id"] == schemas.BASE_URI + path.name


def refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_every_ref_resolves_offline():
    registry = schemas.registry()
    resolved = 0
    for path in SCHEMA_FILES:
        document = json.loads(path.read_text())
        resolver = registry.resolver(base_uri=document["$id"])
        for ref in refs(document):
            target = resolver.lookup(ref).contents  # raises if unresolvable
            assert isinstance(target, dict) and target, f"{path.name}: {ref} resolves to an empty schema"
            resolved += 1
    assert resolved >= 20  # the schemas do share their definitions


def test_every_schema_has_fixtures_or_is_internal():
    with_cases = {p.name for p in CASES.iterdir()}
    internal = {"common.defs", "workflow-state"}  # exercised through every handler's event validation
    assert {p.name.removesuffix(".schema.json") for p in SCHEMA_FILES} == with_cases | internal


@pytest.mark.parametrize("path", fixtures("good"))
def test_good_fixture_is_accepted(path):
    assert schemas.find_error(json.loads(path.read_text()), f"{path.parent.parent.name}.schema.json") is None


@pytest.mark.parametrize("path", fixtures("bad"))
def test_bad_fixture_is_rejected(path):
    assert schemas.find_error(json.loads(path.read_text()), f"{path.parent.parent.name}.schema.json") is not None


def test_the_2020_12_keywords_really_apply():
    # fastjsonschema (Powertools' validator) silently ignores unevaluatedProperties; jsonschema must not.
    request = json.loads((CASES / "labeling-job-request" / "good" / "minimal.json").read_text())
    found = schemas.find_error({**request, "Typo": 1}, "labeling-job-request.schema.json")
    assert found is not None and "Typo" in found[1]
