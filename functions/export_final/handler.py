"""ExportFinal Lambda: write final_output.manifest, report.json and report.html; return the execution's output."""

from __future__ import annotations

from labeling_common import checkpoint, layout, lock, report, s3io
from labeling_common.manifest import Tally
from labeling_common.observability import entrypoint, logger, metrics

from .logic import check_counts, final_records


@entrypoint("export_final")
def lambda_handler(event: dict, context: object) -> dict:
    config, state = event["config"], event["progress"]
    saved = checkpoint.load(config["output_uri"]) or {"history": []}
    checkpoint.check_fence(saved, state)  # a superseded attempt exports nothing over its successor's result
    final_uri = layout.final_manifest(config["output_uri"])
    encryption = s3io.encryption_args(config["kms_key_id"])
    tally = Tally(config["label_attribute"])
    with s3io.JsonLinesWriter(final_uri, encryption=encryption) as writer:
        for record in final_records(s3io.iter_records(state["working_manifest_uri"]), tally):
            writer.write(record)
        check_counts(tally, state["counts"])

    history = saved["history"]
    summaries = {entry["round"]: s3io.read_json(entry["summary_uri"]) for entry in history if entry["kind"] == "round"}
    document = report.build(
        config,
        state,
        history,
        summaries,
        execution=event["execution"],
        final_manifest_uri=final_uri,
        created_at=saved.get("created_at"),
        finished_at=checkpoint.now(),
    )
    report_uri = layout.report(config["output_uri"])
    s3io.write_json(report_uri, document, encryption=encryption)
    html_uri = layout.report_html(config["output_uri"])
    s3io.write_text(html_uri, report.render_html(document), "text/html; charset=utf-8", encryption=encryption)

    lock.release(config["output_uri"], event["execution"]["arn"])
    counts = state["counts"]
    metrics.add_metric(name="HumanLabeled", unit="Count", value=counts["human"])
    metrics.add_metric(name="AutoLabeled", unit="Count", value=counts["auto"])
    logger.info("final manifest exported", stop_reason=state["stop_reason"], **counts)
    return {
        "FinalManifestS3Uri": final_uri,
        "ReportS3Uri": report_uri,
        "ReportHtmlS3Uri": html_uri,
        "StopReason": state["stop_reason"],
        "Counts": counts,
        "Rounds": state["round"],
        "AutoLabelAccuracyLowerBound": document["auto_label_accuracy"]["lower_bound"],
        "MostMissedClass": report.most_missed(document),
    }
