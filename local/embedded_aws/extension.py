"""Installs every patch of the embedded AWS into moto (idempotent). Pinned to moto 5.2.5: the patches
reach into moto internals, so any other version is refused with a clear error."""

from __future__ import annotations

import copy
import threading

REQUIRED_MOTO_VERSION = "5.2.5"
_installed = False
_lock = threading.Lock()


def check_moto_version() -> None:
    import moto

    version = getattr(moto, "__version__", "unknown")
    if version != REQUIRED_MOTO_VERSION:
        raise RuntimeError(
            f"local/embedded_aws patches moto internals and needs moto=={REQUIRED_MOTO_VERSION}, but moto "
            f"{version} is installed. Install the pinned version (requirements/dev.lock) or re-check every "
            "patch listed in local/embedded_aws/README.md against the new moto before changing the pin."
        )


def configure_moto() -> dict:
    """Step Functions executes ASL; Lambda never tries Docker (lambda_runtime runs the handlers).
    Returns the previous values for restore_moto_config()."""
    from moto.core.config import default_user_config

    previous = {key: copy.deepcopy(default_user_config.get(key)) for key in ("stepfunctions", "lambda")}
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    default_user_config["lambda"] = {"use_docker": False}
    return previous


def restore_moto_config(previous: dict) -> None:
    from moto.core.config import default_user_config

    for key, value in previous.items():
        if value is None:
            default_user_config.pop(key, None)
        else:
            default_user_config[key] = value


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        check_moto_version()
        from . import events, lambda_runtime, s3_fixes, sagemaker, sfn_fixes, sfn_sync, validate_definition

        s3_fixes.install()
        sfn_fixes.install()
        sfn_sync.install()
        validate_definition.install()
        lambda_runtime.install()
        sagemaker.install()
        events.install()
        _installed = True
