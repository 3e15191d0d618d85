"""Running terraform/ from pytest without touching the repository: local.terraform's runner in a temporary
directory (mirror or registry, read-only lock file). A missing terraform binary is a failure, not a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.terraform import Terraform, TerraformError

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
LAMBDA_DIR = REPO / "build" / "lambda"
FUNCTIONS = sorted(path.parent.name for path in (REPO / "functions").glob("*/handler.py"))


class TestTerraform(Terraform):
    """local.terraform.Terraform whose failures are test failures with Terraform's own output."""

    __test__ = False

    def run(self, *args: str, check: bool = True, timeout: float = 1800):
        try:
            return super().run(*args, check=check, timeout=timeout)
        except TerraformError as error:
            pytest.fail(str(error), pytrace=False)

    @classmethod
    def create(cls, work_dir: Path) -> TestTerraform:
        try:
            return cls(work_dir)
        except TerraformError as error:
            pytest.fail(str(error), pytrace=False)


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
def terraform(tmp_path_factory) -> TestTerraform:
    """An initialised terraform/ (providers from the mirror or the registry), shared by the session."""
    tf = TestTerraform.create(tmp_path_factory.mktemp("terraform"))
    tf.init()
    return tf
