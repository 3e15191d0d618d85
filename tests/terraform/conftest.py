"""Running terraform/ from pytest without touching the repository.

Provider plugins and module metadata go to a temporary TF_DATA_DIR, state to temporary files, and the
committed .terraform.lock.hcl is used read-only. Where the machine carries a filesystem mirror of the
providers (TF_PLUGIN_MIRROR, or /opt/tf-plugins), a CLI config file pointing at it is written and used;
elsewhere Terraform installs from the registry as usual. A missing terraform binary is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
LAMBDA_DIR = REPO / "build" / "lambda"
FUNCTIONS = sorted(path.parent.name for path in (REPO / "functions").glob("*/handler.py"))
MIRRORS = ("/opt/tf-plugins",)


def provider_mirror() -> Path | None:
    configured = os.environ.get("TF_PLUGIN_MIRROR")
    if configured:
        return Path(configured)
    return next((Path(m) for m in MIRRORS if Path(m).is_dir()), None)


@dataclass
class Terraform:
    """`terraform -chdir=terraform ...` with an isolated environment."""

    work_dir: Path
    env: dict = field(default_factory=dict)

    @classmethod
    def create(cls, work_dir: Path) -> Terraform:
        binary = shutil.which("terraform")
        if binary is None:
            pytest.fail(
                "terraform is not installed or not on PATH: install Terraform >= 1.9 (https://developer.hashicorp.com/terraform/install)"
            )
        work_dir.mkdir(parents=True, exist_ok=True)
        cli_config = work_dir / "terraform.rc"
        mirror = provider_mirror()
        if mirror is not None:
            cli_config.write_text(
                f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
            )
        else:
            cli_config.write_text("# registry installation (no local provider mirror on this machine)\n")
        env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_DATA_DIR": str(work_dir / "data"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
        for name in ("TF_LOG", "TF_LOG_PATH", "TF_WORKSPACE"):
            env.pop(name, None)
        return cls(work_dir=work_dir, env=env)

    def run(self, *args: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
        command = ["terraform", f"-chdir={TERRAFORM_DIR}", *args]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            pytest.fail(
                f"`{' '.join(command)}` exited {result.returncode}\n--- stdout ---\n{result.stdout[-20000:]}"
                f"\n--- stderr ---\n{result.stderr[-20000:]}",
                pytrace=False,
            )
        return result

    def init(self) -> None:
        # -lockfile=readonly: verify the committed lock file, never rewrite it.
        self.run("init", "-backend=false", "-input=false", "-no-color", "-lockfile=readonly")


def require_lambda_packages() -> None:
    """The root module deploys build/lambda/<function>.zip: fail with the fix, not with a Terraform error."""
    missing = [name for name in FUNCTIONS if not (LAMBDA_DIR / f"{name}.zip").is_file()]
    if missing or not (LAMBDA_DIR / "build-info.json").is_file():
        pytest.fail(
            f"Lambda packages missing in {LAMBDA_DIR} ({', '.join(missing) or 'build-info.json'}): "
            "run `make build` first",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def terraform(tmp_path_factory) -> Terraform:
    """An initialised terraform/ (providers from the mirror or the registry), shared by the session."""
    tf = Terraform.create(tmp_path_factory.mktemp("terraform"))
    tf.init()
    return tf
