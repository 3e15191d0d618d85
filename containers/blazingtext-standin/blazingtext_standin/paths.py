"""The SageMaker /opt/ml tree; its root moves with OPT_ML_DIR (the local emulator sets it)."""

from __future__ import annotations

import os
from pathlib import Path


def opt_ml() -> Path:
    return Path(os.environ.get("OPT_ML_DIR") or "/opt/ml")


def hyperparameters_file() -> Path:
    return opt_ml() / "input" / "config" / "hyperparameters.json"


def input_data_config_file() -> Path:
    return opt_ml() / "input" / "config" / "inputdataconfig.json"


def data_dir() -> Path:
    return opt_ml() / "input" / "data"


def pipe(data: Path, channel: str, epoch: int = 0) -> Path:
    """Pipe mode streams a channel through the FIFO <channel>_<epoch>."""
    return data / f"{channel}_{epoch}"


def model_dir() -> Path:
    return opt_ml() / "model"


def output_dir() -> Path:
    return opt_ml() / "output"


def failure_file() -> Path:
    return output_dir() / "failure"


def port() -> int:
    return int(os.environ.get("SAGEMAKER_BIND_TO_PORT") or 8080)
