"""The SageMaker `/opt/ml` tree. Its root can be moved with OPT_ML_DIR (the local emulator does), so every
path is computed when asked for, never at import time."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_OPT_ML = "/opt/ml"
DEFAULT_PORT = 8080


def opt_ml() -> Path:
    return Path(os.environ.get("OPT_ML_DIR") or DEFAULT_OPT_ML)


def hyperparameters_file() -> Path:
    return opt_ml() / "input" / "config" / "hyperparameters.json"


def data_dir() -> Path:
    return opt_ml() / "input" / "data"


def channel_dir(name: str) -> Path:
    return data_dir() / name


def model_dir() -> Path:
    return opt_ml() / "model"


def output_dir() -> Path:
    return opt_ml() / "output"


def failure_file() -> Path:
    return output_dir() / "failure"


def port() -> int:
    value = os.environ.get("SAGEMAKER_BIND_TO_PORT") or str(DEFAULT_PORT)
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"SAGEMAKER_BIND_TO_PORT must be an integer port, got {value!r}") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"SAGEMAKER_BIND_TO_PORT must be between 0 and 65535, got {number}")
    return number
