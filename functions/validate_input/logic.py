"""ValidateInput: check the labeling job request and turn it into the normalized `config`.

Precedence of every optional setting: the request's value, else the deploy-time default (Terraform variable,
passed as the WORKFLOW_DEFAULTS environment variable), else the built-in default (the request schema's `default`).
"""

from __future__ import annotations

from labeling_common import backends, schemas, settings
from labeling_common.errors import InvalidInput

BUILTIN_DEFAULTS = settings.defaults()  # from the request schema, the one source of every setting

TEXT_FIELDS = ("source",)  # "source-ref" is refused by the schema already (Ground Truth reserves "-ref")


def check_defaults(defaults: dict) -> dict:
    """Deploy-time defaults use the request's ActiveLearningConfig vocabulary (plus LabelingBackend and
    LabelingTimeoutSeconds); a bad value is a deployment error, reported as such."""
    schema = f"{settings.REQUEST_SCHEMA}#/$defs/workflowDefaults"
    schemas.check(defaults, schema, InvalidInput, root="WORKFLOW_DEFAULTS")
    return {**BUILTIN_DEFAULTS, **defaults}


def normalize(request: dict, defaults: dict, sagemaker_role_arn: str, job_prefix: str = "") -> dict:
    """Validate the request against its schema and return the config (without num_classes, which needs S3).

    job_prefix: the deployment's SageMaker job-name prefix (JOB_NAME_PREFIX). Every job name starts with it,
    so the state machines' IAM policies can allow exactly the jobs this deployment creates."""
    schemas.check(request, "labeling-job-request.schema.json", InvalidInput)
    if request["LabelAttributeName"] in TEXT_FIELDS:
        raise InvalidInput(
            f"{request['LabelAttributeName']!r} is where a manifest line keeps its text; name the label "
            "attribute otherwise (e.g. 'category')",
            field="$.LabelAttributeName",
        )
    merged = check_defaults(defaults)
    overrides = request.get("ActiveLearningConfig", {})
    chosen = {name: overrides.get(name, merged[name]) for name in settings.active_learning()}

    if chosen["AutoLabelMethod"] != "calibrated" and chosen["MaxClassMissRate"] < 1:
        raise InvalidInput(
            f"a per-class limit ({chosen['MaxClassMissRate']}, set here or by the deployment's default) needs "
            f"AutoLabelMethod calibrated; {chosen['AutoLabelMethod']} certifies nothing (set it to 1)",
            field="$.ActiveLearningConfig.MaxClassMissRate",
        )
    backend = request.get("LabelingBackend", merged["LabelingBackend"])
    for field in backends.backend(backend).required_request_fields:
        if field not in request:
            raise InvalidInput(f"required when the labeling backend is {backend}", field=f"$.{field}")
    role = request.get("RoleArn")
    if role is not None and role != sagemaker_role_arn:
        raise InvalidInput(
            f"must be the workflow's SageMaker execution role {sagemaker_role_arn} (or left out): "
            "the workflow may pass no other role to SageMaker",
            field="$.RoleArn",
        )
    output_uri = request["OutputConfig"]["S3OutputPath"]
    if not output_uri.endswith("/"):
        output_uri += "/"
    manifest_uri = request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
    if manifest_uri.startswith(output_uri):
        raise InvalidInput(
            "the input manifest must not live under S3OutputPath (the workflow owns everything there)",
            field="$.InputConfig.DataSource.S3DataSource.ManifestS3Uri",
        )
    config = {
        "input_manifest_uri": manifest_uri,
        "output_uri": output_uri,
        "label_attribute": request["LabelAttributeName"],
        "label_config_uri": request["LabelCategoryConfigS3Uri"],
        "job_name_prefix": f"{job_prefix}-{request['LabelingJobNamePrefix']}"
        if job_prefix
        else request["LabelingJobNamePrefix"],
        "labeling_backend": backend,
        "labeling_timeout_seconds": merged["LabelingTimeoutSeconds"],
        "data_attributes": request["InputConfig"].get("DataAttributes", {"ContentClassifiers": []}),
        "kms_key_id": request["OutputConfig"].get("KmsKeyId"),
    }
    config.update({settings.config_key(name): value for name, value in chosen.items()})
    return config
