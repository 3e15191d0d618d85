"""Script mode: the model on a SageMaker framework image (scikit-learn), from the source archive.

The archive (build_source_archive.py) holds train.py, inference.py, this package, the ONNX embedding model
and, under vendor/, what the image lacks. SageMaker's training toolkit unpacks it into the code directory
and runs train.py; train.py copies the code directory into the model (`code/`), where the image's model
server finds inference.py (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code) and copies it to its own code
directory. Both entry points call `prepare` first.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from . import embedding

LOG = logging.getLogger("text_classifier.script_mode")
VENDOR = "vendor"
IMAGE_LIBRARIES = "image-libraries.txt"
MODEL_CODE = "code"  # the code's directory inside the model (SageMaker's convention for framework models)
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)")


def prepare(code: Path) -> None:
    """Put the vendored packages first on sys.path and point the embedding at the archive's model."""
    vendor = str(code / VENDOR)
    if vendor not in sys.path:
        sys.path.insert(0, vendor)
    os.environ[embedding.MODEL_ENV] = str(code / "embedding-model")  # the archive's, even where one is set


def library_differences(code: Path) -> list[str]:
    """Where the running image's libraries differ from those local mode measured with (image-libraries.txt)."""
    path = code / IMAGE_LIBRARIES
    if not path.is_file():
        return [f"{path} is missing"]
    differences = []
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if not match:
            continue
        name, expected = match.groups()
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "missing"
        if installed != expected:
            differences.append(f"{name} {installed} (local mode: {expected})")
    return differences


def copy_code(code: Path, model_dir: Path) -> None:
    """The code directory into the model, so that serving needs nothing but the model artifact."""
    target = model_dir / MODEL_CODE
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(code, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
