"""Running the project's Terraform from Python: local mode, the benchmarks and the tests all use this.

Provider plugins and module metadata go to a caller-given TF_DATA_DIR, state to a file there, never inside
terraform/, and the committed .terraform.lock.hcl is only verified, never rewritten. Where the machine
carries a filesystem mirror of the providers (TF_PLUGIN_MIRROR, or /opt/tf-plugins: no registry access), a
CLI config file pointing at it is written and used; elsewhere Terraform installs from the registry as usual.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "terraform"
MIRRORS = ("/opt/tf-plugins",)


class TerraformError(RuntimeError):
    pass


def provider_mirror() -> Path | None:
    configured = os.environ.get("TF_PLUGIN_MIRROR")
    if configured:
        return Path(configured)
    return next((Path(m) for m in MIRRORS if Path(m).is_dir()), None)


class Terraform:
    """`terraform -chdir=terraform …` in an isolated environment rooted at `work_dir`."""

    def __init__(self, work_dir: Path):
        if shutil.which("terraform") is None:
            raise TerraformError(
                "terraform is not installed or not on PATH: install Terraform >= 1.9 "
                "(https://developer.hashicorp.com/terraform/install)"
            )
        self.work_dir = Path(work_dir).resolve()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.state = self.work_dir / "terraform.tfstate"
        cli_config = self.work_dir / "terraform.rc"
        mirror = provider_mirror()
        cli_config.write_text(
            f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
            if mirror
            else "# registry installation (no local provider mirror on this machine)\n"
        )
        self.env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_DATA_DIR": str(self.work_dir / "data"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
        for name in ("TF_LOG", "TF_LOG_PATH", "TF_WORKSPACE"):
            self.env.pop(name, None)

    def run(self, *args: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
        command = ["terraform", f"-chdir={CONFIG_DIR}", *args]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise TerraformError(
                f"`{' '.join(command)}` exited {result.returncode}\n--- stdout ---\n"
                f"{result.stdout[-20000:]}\n--- stderr ---\n{result.stderr[-20000:]}"
            )
        return result

    def init(self) -> None:
        self.run("init", "-backend=false", "-input=false", "-no-color", "-lockfile=readonly")

    def apply(self, variables: dict) -> float:
        return self._change("apply", variables)

    def destroy(self, variables: dict) -> float:
        return self._change("destroy", variables)

    def _change(self, command: str, variables: dict) -> float:
        """Run apply or destroy with these variables; return the seconds it took."""
        var_file = self.work_dir / "local.auto.tfvars.json"
        var_file.write_text(json.dumps(variables, indent=2))
        started = time.monotonic()
        # Every resource is a quick local call: more at once than the default 10 shortens apply.
        self.run(
            command,
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-parallelism=32",
            f"-state={self.state}",
            f"-var-file={var_file}",
        )
        return time.monotonic() - started

    def outputs(self) -> dict:
        raw = json.loads(self.run("output", "-json", f"-state={self.state}").stdout)
        return {name: value["value"] for name, value in raw.items()}

    def forget_state(self) -> None:
        """The embedded AWS starts empty every time: so must the state that describes it."""
        for path in (self.state, self.state.with_suffix(".tfstate.backup")):
            path.unlink(missing_ok=True)
