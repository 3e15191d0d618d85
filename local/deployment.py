"""The whole stack on one machine: the embedded AWS (moto + extension) and `terraform apply` against it —
the same Terraform, ASL and Lambda zips as on AWS."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .embedded_aws import EmbeddedAWS
from .terraform import Terraform

REPO = Path(__file__).resolve().parents[1]
STATE_DIR = REPO / "local" / ".state"
RUNTIME_SITE = REPO / "build" / "lambda-runtime" / "python"
REGION = "us-east-1"


def local_variables(endpoint_url: str, **overrides: Any) -> dict:
    """Terraform variables of local mode: the bundled model (run from containers/ by the embedded SageMaker),
    everything else as it would be deployed."""
    return {
        "region": REGION,
        "aws_endpoint_url": endpoint_url,
        "name_prefix": "al-local",
        "force_destroy": True,
        "model_preset": "bundled",
        **overrides,
    }


@dataclass
class LocalDeployment:
    state_dir: Path = STATE_DIR
    workforce: dict | None = None  # simulated Ground Truth workforce (see local/embedded_aws/workforce.py)
    terraform_variables: dict = field(default_factory=dict)
    aws: EmbeddedAWS | None = None
    outputs: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)

    def __enter__(self) -> LocalDeployment:
        if not (RUNTIME_SITE / "boto3").is_dir():
            raise SystemExit(f"{RUNTIME_SITE} is missing: run `make lambda-runtime` (make run does)")
        config = {"runtime_site": str(RUNTIME_SITE), "region": REGION}
        if self.workforce:
            config["workforce"] = self.workforce
        started = time.monotonic()
        self.aws = EmbeddedAWS(state_dir=self.state_dir / "aws", config=config).start()
        self.timings["embedded_aws_seconds"] = time.monotonic() - started
        try:
            terraform = Terraform(self.state_dir / "terraform")
            terraform.forget_state()
            terraform.init()
            self.timings["terraform_apply_seconds"] = terraform.apply(
                local_variables(self.aws.endpoint_url, **self.terraform_variables)
            )
            self.outputs = terraform.outputs()
        except BaseException:
            self.aws.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.aws is not None:
            self.aws.stop()

    def client(self, service: str):
        return self.aws.client(service)

    def set_workforce(self, workforce: dict) -> None:
        """The simulated Ground Truth workforce for the next labeling jobs (re-read on every job)."""
        self.aws.update_config(workforce=workforce)
