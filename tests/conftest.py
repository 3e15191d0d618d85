"""Shared fixtures. Environment first: handlers read it at import or call time, and boto3 must never see
real credentials or reach AWS."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_SERVICE_NAME="active-labeling-tests",
    POWERTOOLS_METRICS_NAMESPACE="ActiveLabelingTests",
    POWERTOOLS_TRACE_DISABLED="1",
    POWERTOOLS_LOG_DEDUPLICATION_DISABLED="1",
    SAGEMAKER_ROLE_ARN="arn:aws:iam::123456789012:role/active-labeling-sagemaker",
    LABELING_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:active-labeling-tasks",
)
os.environ.pop("AWS_ENDPOINT_URL", None)
# The bundled model's sentence embeddings (the ONNX model `make build` exports), computed once per text for
# every test, process and session (as the local SageMaker does). Vectors are a pure function of the text; the
# cache only saves time.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TEXT_CLASSIFIER_EMBEDDING_CACHE", os.path.join(REPO_ROOT, "build", "embedding-cache"))
os.environ.setdefault("TEXT_CLASSIFIER_EMBEDDING_MODEL", os.path.join(REPO_ROOT, "build", "embedding-model"))

import pytest  # noqa: E402

from tests.support import MODEL_CONFIG, workspace  # noqa: E402,F401  (workspace: fixture)

os.environ["MODEL_CONFIG"] = json.dumps(MODEL_CONFIG)


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(autouse=True)
def _reset_powertools_metrics():
    from labeling_common.observability import metrics

    yield
    metrics.clear_metrics()
    metrics.clear_default_dimensions()


@pytest.fixture
def aws():
    """moto for every AWS call, with boto3 clients created inside the mock."""
    from moto import mock_aws

    from labeling_common.aws import reset_clients

    reset_clients()
    with mock_aws():
        yield
    reset_clients()


# The slow layers, by directory (pyproject.toml declares the markers): `make test-fast` deselects them.
SLOW_LAYERS = {
    "local": "emulator",  # the embedded AWS, started per module
    "e2e": "emulator",
    "container": "container",  # real training of the bundled model
    "flow": "flow",  # the 10k-item workflow, function by function
    "packaging": "packaging",  # building and importing every zip
    "terraform": "terraform",
}


# Under pytest-xdist (`make test`) the longest files start first, so that no worker is left with one of them at the
# end; the sort is stable, so a file's tests keep their order.
RUN_FIRST = ("e2e", "terraform")


def pytest_collection_modifyitems(config, items):
    def directory(item) -> str:
        return item.path.relative_to(config.rootpath / "tests").parts[0]

    def run_order(item) -> int:
        layer_directory = directory(item)
        return RUN_FIRST.index(layer_directory) if layer_directory in RUN_FIRST else len(RUN_FIRST)

    items.sort(key=run_order)
    for item in items:
        layer = SLOW_LAYERS.get(directory(item))
        if layer is not None:
            item.add_marker(getattr(pytest.mark, layer))
