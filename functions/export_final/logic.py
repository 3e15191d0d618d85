"""ExportFinal: the final manifest (every input record once, in input order, internal keys stripped) and
the run report (per-round counts, thresholds, estimated accuracy and its bound, human cost)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from labeling_common.errors import InvalidEvent
from labeling_common.manifest import Tally, strip_internal


def final_records(records: Iterable[dict], tally: Tally) -> Iterator[dict]:
    for record in records:
        tally.add(record)
        yield strip_internal(record)


def check_counts(tally: Tally, expected: dict) -> None:
    got = tally.counts(validation=expected["validation"])
    if got != expected:
        raise InvalidEvent(f"final manifest counts {got} differ from the run's counts {expected}")


def report(
    config: dict,
    progress: dict,
    history: list[dict],
    summaries: dict[int, dict],
    *,
    execution: dict,
    final_manifest_uri: str,
    created_at: str | None,
    finished_at: str,
) -> dict:
    counts = progress["counts"]
    batches = [entry for entry in history if entry["kind"] == "human_batch"]
    rounds = [{**summaries[entry["round"]], "step": entry["step"]} for entry in history if entry["kind"] == "round"]
    start = next((entry for entry in history if entry["kind"] == "bootstrap"), None)
    labels_bought = sum(batch["labeled"] for batch in batches)
    last_with_estimate = next((r for r in reversed(rounds) if r["calibration"]["lower_bound"] is not None), None)
    return {
        "execution": execution,
        "input_manifest": config["input_manifest_uri"],
        "final_manifest": final_manifest_uri,
        "stop_reason": progress["stop_reason"],
        "counts": counts,
        "human_fraction": counts["human"] / counts["total"],
        "auto_fraction": counts["auto"] / counts["total"],
        "auto_label_accuracy": {
            "target": config["target_accuracy"],
            "confidence_level": config["confidence_level"],
            "estimated": last_with_estimate["calibration"]["estimated_accuracy"] if last_with_estimate else None,
            "lower_bound": last_with_estimate["calibration"]["lower_bound"] if last_with_estimate else None,
            "validation_items": last_with_estimate["calibration"]["cumulative_items"] if last_with_estimate else 0,
        },
        "cost": {
            "human_labels_requested": sum(batch["sent"] for batch in batches),
            "human_labels_obtained": labels_bought,
            "usd_per_label": config["human_cost_per_label"],
            "human_labeling_usd": round(labels_bought * config["human_cost_per_label"], 2),
        },
        "settings": {
            key: config[key]
            for key in (
                "labeling_backend",
                "query_strategy",
                "auto_label_method",
                "bootstrap_fraction",
                "validation_fraction",
                "human_batch_size",
                "max_rounds",
                "max_human_labels",
                "seed",
            )
        },
        "initial_counts": {key: start[key] for key in ("total", "human", "auto", "unlabeled")} if start else None,
        "human_batches": batches,
        "rounds": rounds,
        "started_at": created_at,
        "finished_at": finished_at,
    }
