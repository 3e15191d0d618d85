"""Running the project's Terraform from Python: against the embedded AWS for local mode and tests.

State and provider plugins live under a caller-given directory, never inside terraform/. Where the machine
carries a filesystem mirror of the providers (no registry access), a CLI config pointing at it is written;
elsewhere Terraform uses the registry as usual.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "terraform"
MIRRORS = ("/opt/tf-plugins",)


class TerraformError(RuntimeError):
    pass


class Terraform:
    def __init__(self, work_dir: Path):
        self.work_dir = Path(work_dir).resolve()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.state = self.work_dir / "terraform.tfstate"
        self.env = {
            **os.environ,
            "TF_DATA_DIR": str(self.work_dir / "data"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
        mirror = os.environ.get("TF_PLUGIN_MIRROR") or next((m for m in MIRRORS if Path(m).is_dir()), None)
        if mirror:
            rc = self.work_dir / "terraformrc"
            rc.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n')
            self.env["TF_CLI_CONFIG_FILE"] = str(rc)

    def run(self, *args: str, capture: bool = True) -> str:
        command = ["terraform", f"-chdir={CONFIG_DIR}", *args]
        result = subprocess.run(command, env=self.env, capture_output=capture, text=True)
        if result.returncode != 0:
            raise TerraformError(f"{' '.join(command[:3])} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        return result.stdout

    def init(self) -> None:
        self.run("init", "-input=false", "-backend=false")

    def apply(self, variables: dict) -> float:
        return self._change("apply", variables)

    def destroy(self, variables: dict) -> float:
        return self._change("destroy", variables)

    def _change(self, command: str, variables: dict) -> float:
        """Run apply or destroy with these variables; return the seconds it took."""
        var_file = self.work_dir / "local.auto.tfvars.json"
        var_file.write_text(json.dumps(variables, indent=2))
        started = time.monotonic()
        self.run(command, "-auto-approve", "-input=false", f"-state={self.state}", f"-var-file={var_file}")
        return time.monotonic() - started

    def outputs(self) -> dict:
        raw = json.loads(self.run("output", "-json", f"-state={self.state}"))
        return {name: value["value"] for name, value in raw.items()}

    def forget_state(self) -> None:
        """The embedded AWS starts empty every time: so must the state that describes it."""
        for path in (self.state, self.state.with_suffix(".tfstate.backup")):
            path.unlink(missing_ok=True)
