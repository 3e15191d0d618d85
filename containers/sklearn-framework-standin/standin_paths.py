"""The image's /opt/ml, moved by OPT_ML_DIR in local mode (as the project's containers do)."""

import os
from pathlib import Path

OPT_ML = "/opt/ml"


def opt_ml() -> Path:
    return Path(os.environ.get("OPT_ML_DIR") or OPT_ML)


def local(path: str) -> Path:
    """A path the job names under /opt/ml (a hyperparameter, an environment variable), where it is here."""
    if path == OPT_ML or path.startswith(OPT_ML + "/"):
        return opt_ml() / path[len(OPT_ML) :].lstrip("/")
    return Path(path)
