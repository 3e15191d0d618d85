"""Lambda zips: reproducible bytes, clean contents, and a handler that imports from the zip alone
(plus the boto3 the Lambda runtime provides) under the runtime's Python version."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "functions"))
import build_zip  # noqa: E402

BUILD_INFO = REPO / "build" / "lambda" / "build-info.json"


@pytest.fixture(scope="module")
def runtime():
    """The Python version and wheelhouse `make build` used (make test builds first)."""
    assert BUILD_INFO.exists(), "run `make build` first (make test does)"
    info = json.loads(BUILD_INFO.read_text())
    wheelhouse = REPO / "build" / "wheelhouse" / f"py{info['python']}-{info['architecture']}"
    return info, wheelhouse


@pytest.fixture(scope="module")
def built_twice(runtime, tmp_path_factory):
    _, wheelhouse = runtime
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    build_zip.main(["--wheelhouse", str(wheelhouse), "--out-dir", str(first)])
    for path in (REPO / "functions").rglob("*.py"):  # touching sources must not change the bytes
        os.utime(path)
    build_zip.main(["--wheelhouse", str(wheelhouse), "--out-dir", str(second)])
    return first, second


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_one_zip_per_function(built_twice):
    first, _ = built_twice
    assert sorted(p.stem for p in first.glob("*.zip")) == build_zip.function_names()
    assert len(build_zip.function_names()) == 12


def test_rebuilding_gives_identical_bytes(built_twice):
    first, second = built_twice
    for zip_path in first.glob("*.zip"):
        assert digest(zip_path) == digest(second / zip_path.name), zip_path.name


def test_make_build_output_matches_a_fresh_build(built_twice):
    first, _ = built_twice
    for zip_path in first.glob("*.zip"):
        assert digest(zip_path) == digest(REPO / "build" / "lambda" / zip_path.name), zip_path.name


@pytest.mark.parametrize("function", build_zip.function_names())
def test_zip_contents_are_clean_and_normalised(built_twice, function):
    first, _ = built_twice
    with zipfile.ZipFile(first / f"{function}.zip") as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
    assert names == sorted(names)
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos)
    assert all((info.external_attr >> 16) & 0o777 == 0o644 for info in infos)
    assert not any(name.endswith("/") for name in names)
    assert not any(name.startswith("bin/") or "__pycache__" in name or name.endswith(".pyc") for name in names)
    assert not any(name.endswith(("dist-info/RECORD", "dist-info/INSTALLER", "direct_url.json")) for name in names)
    own = {name.split("/")[0] for name in names if name.split("/")[0] in build_zip.function_names()}
    assert own == {function}  # one function per zip: no other function's code
    assert f"{function}/handler.py" in names
    assert "labeling_common/schemas/labeling-job-request.schema.json" in names
    assert not any(name.startswith(("tests/", "boto3/", "botocore/")) for name in names)


@pytest.mark.parametrize("function", build_zip.function_names())
def test_handler_imports_from_the_extracted_zip_in_a_clean_interpreter(runtime, function, tmp_path):
    info, _ = runtime
    pyenv = sorted(Path(os.path.expanduser("~/.pyenv/versions")).glob(f"{info['python']}*/bin/python{info['python']}"))
    on_path = shutil.which(f"python{info['python']}")
    interpreter = str(pyenv[-1]) if pyenv else (on_path if on_path and "shims" not in on_path else None)
    assert interpreter, f"python{info['python']} (the Lambda runtime's version) is needed to check the zips"
    runtime_site = REPO / "build" / "lambda-runtime" / "python"
    assert runtime_site.is_dir(), "run `make lambda-runtime` first (make test does)"
    with zipfile.ZipFile(REPO / "build" / "lambda" / f"{function}.zip") as archive:
        archive.extractall(tmp_path)
    # -I -S: no environment, no user or global site-packages; only the stdlib, the zip and the runtime's boto3.
    code = (
        f"import sys; sys.path[:0] = [{str(tmp_path)!r}, {str(runtime_site)!r}]; "
        f"import {function}.handler as h; assert callable(h.lambda_handler); "
        "import labeling_common.schemas as s; s.registry(); import rpds; print(rpds.__file__)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "POWERTOOLS_METRICS_NAMESPACE": "Test",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(
        [interpreter, "-I", "-S", "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(tmp_path))  # the compiled dependency came from the zip
