"""RequestCallbackLabels Lambda (a waitForTaskToken task): publish a labeling task, then the workflow waits
until a labeling tool calls SendTaskSuccess with the labeled manifest's URI (or SendTaskFailure)."""

from __future__ import annotations

import json
import os

from labeling_common import layout, manifest, s3io
from labeling_common.aws import client
from labeling_common.labels import LabelCategories
from labeling_common.observability import entrypoint, logger

from .logic import notification, task_descriptor


@entrypoint("request_callback_labels")
def lambda_handler(event: dict, context: object) -> dict:
    config, batch = event["config"], event["batch"]
    categories = LabelCategories.from_config(s3io.read_json(config["label_config_uri"]))
    task = task_descriptor(
        config, batch, event["task_token"], event["execution"]["arn"], list(categories.names), manifest.timestamp()
    )
    task_uri = f"{layout.batch_prefix(config['output_uri'], batch['job_name'])}task.json"
    s3io.write_json(task_uri, task, encryption=s3io.encryption_args(config["kms_key_id"]))
    client("sns").publish(
        TopicArn=os.environ["LABELING_TOPIC_ARN"],
        Subject=f"Labeling task {batch['job_name']} ({batch['record_count']} records)"[:100],
        Message=json.dumps(notification(task, task_uri)),
        MessageAttributes={"JobName": {"DataType": "String", "StringValue": batch["job_name"]}},
    )
    logger.info("labeling task published", job_name=batch["job_name"], records=batch["record_count"])
    return {"task_uri": task_uri}
