"""The run report: its JSON document (report.json) and its one-file HTML rendering (report.html).

One builder and one renderer serve ExportFinal (both files, beside the final manifest), `labeler report` (a
finished run's report.json, or the same document built from the checkpoint while the run goes on) and local
mode (which adds what only it knows: accuracy against the true labels). Pure: no AWS calls. The HTML is
inline SVG and CSS, no scripts, nothing fetched.
"""

from __future__ import annotations

import html

SETTINGS = (
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


def build(
    config: dict,
    progress: dict,
    history: list[dict],
    summaries: dict[int, dict],
    *,
    execution: dict,
    final_manifest_uri: str | None,
    created_at: str | None,
    finished_at: str | None,
) -> dict:
    """The report document from the validated config, the progress, the checkpoint's history and each
    round's summary. finished_at None: a run still going (or stopped), reported as it stands."""
    counts = progress["counts"]
    batches = [entry for entry in history if entry["kind"] == "human_batch"]
    rounds = [{**summaries[entry["round"]], "step": entry["step"]} for entry in history if entry["kind"] == "round"]
    start = next((entry for entry in history if entry["kind"] == "bootstrap"), None)
    labels_bought = sum(batch["labeled"] for batch in batches)
    in_force = certificate_in_force(rounds)
    calibration = claim_of(in_force["calibration"] if in_force else None, counts)
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
            "max_class_miss_rate": config.get("max_class_miss_rate", 1.0),  # older runs had no per-class limit
            "estimated": calibration["estimated_accuracy"] if calibration else None,
            "lower_bound": calibration["lower_bound"] if calibration else None,
            "validation_items": calibration["certified_items"] if calibration else 0,
        },
        "cost": {
            "human_labels_requested": sum(batch["sent"] for batch in batches),
            "human_labels_obtained": labels_bought,
            "usd_per_label": config["human_cost_per_label"],
            "human_labeling_usd": round(labels_bought * config["human_cost_per_label"], 2),
        },
        "settings": {key: config[key] for key in SETTINGS},
        "initial_counts": {key: start[key] for key in ("total", "human", "auto", "unlabeled")} if start else None,
        "human_batches": batches,
        "rounds": rounds,
        "started_at": created_at,
        "finished_at": finished_at,
    }


def certificate_in_force(rounds: list[dict]) -> dict | None:
    """The summary of the round whose certificate covers the run's auto-labels (each adopting round's
    auto-labels replace the earlier ones), or None."""
    by_number = {r["round"]: r for r in rounds}
    return by_number.get(rounds[-1]["certificate_round"]) if rounds else None


def claim_of(calibration: dict | None, counts: dict) -> dict | None:
    """The calibration record the run's claim rests on: the certificate in force's, while auto-labels remain.
    The claim speaks of the auto-labels in the manifest; random calibration picks can hand every one of a small
    certified set to people, and a bound on no label is no claim."""
    return calibration if counts["auto"] else None


def per_class(document: dict) -> list[dict]:
    """Per class: the auto-labels in force, and the validation items that stand for them (those the
    certificate counts, by predicted class) with how many agree; and of the validation items people gave the
    class, the share the certificate counts as another class — the estimate of the class's items auto-labeled
    as another (what `MaxClassMissRate` limits; None in summaries written before it)."""
    rounds = document["rounds"]
    if not rounds:
        return []
    in_force = certificate_in_force(rounds)
    source = in_force or rounds[-1]  # without a certificate: its zeros
    relabeled = relabeled_since(document["human_batches"], in_force["step"]) if in_force else {}
    return [
        {
            "class": entry["class"],
            "auto_labeled": entry["auto_labeled"] - relabeled.get(index, 0),
            "validation_items": entry["validation_items"],
            "validation_correct": entry["validation_correct"],
            "agreement": entry["validation_correct"] / entry["validation_items"] if entry["validation_items"] else None,
            "validation_labeled": entry.get("validation_labeled"),
            "missed": entry["validation_missed"] / entry["validation_labeled"]
            if entry.get("validation_labeled")
            else None,
        }
        for index, entry in enumerate(source["per_class"])
    ]


def relabeled_since(batches: list[dict], step: int) -> dict[int, int]:
    """Auto-labels that human batches after `step` replaced (random calibration picks), by class index.
    Batches recorded before the count was kept replaced none as far as the report knows."""
    relabeled: dict[int, int] = {}
    for batch in batches:
        if batch["step"] > step:
            for index, count in enumerate(batch.get("auto_relabeled") or ()):
                relabeled[index] = relabeled.get(index, 0) + count
    return relabeled


def most_missed(document: dict) -> dict | None:
    """The class whose items the certificate in force most often counts as another class: its name, that
    estimated share (`missed`), the calibration items people gave it, which the estimate rests on, and the
    per-class limit the run certified (1: none). None while nothing is certified or no class has calibration
    items. The overall claim does not speak of classes; this is what a team should read when one is rare."""
    accuracy = document["auto_label_accuracy"]
    estimated = [entry for entry in per_class(document) if entry["missed"] is not None]
    if accuracy["lower_bound"] is None or not estimated:
        return None
    worst = max(estimated, key=lambda entry: entry["missed"])
    return {
        "class": worst["class"],
        "missed": worst["missed"],
        "validation_labeled": worst["validation_labeled"],
        "max_class_miss_rate": accuracy.get("max_class_miss_rate", 1.0),
    }


def _class_limit_note(document: dict) -> str:
    """What the certificate says per class, when a per-class limit was set: the limit, and the classes it could
    not test (no calibration item carries them)."""
    rate = document["auto_label_accuracy"].get("max_class_miss_rate", 1.0)
    if document["auto_label_accuracy"]["lower_bound"] is None or rate >= 1:
        return ""
    untested = [c["class"] for c in per_class(document) if c["validation_labeled"] == 0]
    return f"; no class with more than {rate:.0%} of its items auto-labeled as another" + (
        f" (not tested, no calibration item of: {', '.join(untested)})" if untested else ""
    )


def timeline(document: dict) -> list[dict]:
    """Human and auto labels after the input, every human batch and every round (a round that adopts its
    certificate replaces the auto-labels; one that does not keeps them; a batch's random calibration picks take
    theirs from the set)."""
    start = document.get("initial_counts") or {"human": 0, "auto": 0}
    human, auto = start["human"], start["auto"]
    points = [{"label": "input", "human": human, "auto": auto, "bound": None, "observed": None}]
    events = [("batch", b) for b in document["human_batches"]] + [("round", r) for r in document["rounds"]]
    for kind, item in sorted(events, key=lambda event: event[1]["step"]):
        if kind == "batch":
            human += item["labeled"]
            auto -= sum(item.get("auto_relabeled") or ())  # its random calibration picks took these from the set
            points.append(
                {"label": f"humans {item['step']}", "human": human, "auto": auto, "bound": None, "observed": None}
            )
        else:
            if item["certificate_round"] == item["round"]:
                auto = item["auto_labeled"]
            bound, observed = item["calibration"]["lower_bound"], item["calibration"]["estimated_accuracy"]
            points.append(
                {"label": f"round {item['round']}", "human": human, "auto": auto, "bound": bound, "observed": observed}
            )
    return points


def render_html(document: dict, measured: dict | None = None) -> str:
    """report.html. `measured` (local mode only): {"auto_label_accuracy", "per_class_accuracy": {class:
    accuracy}, "seconds"} measured against the true labels, which a real run never has."""
    measured = measured or {}
    counts, accuracy, cost = document["counts"], document["auto_label_accuracy"], document["cost"]
    total = counts["total"] or 1
    name = (document.get("execution") or {}).get("name") or "run"
    if document.get("finished_at"):
        state = f"finished ({document['stop_reason']}) at {document['finished_at']}"
    else:
        state = f"in progress: {len(document['rounds'])} rounds so far (as of the last checkpoint)"
    bound = accuracy["lower_bound"]
    facts = [
        ("state", state),
        ("items", f"{counts['total']:,}"),
        ("human-labeled", f"{counts['human']:,} ({counts['human'] / total:.1%})"),
        ("auto-labeled", f"{counts['auto']:,} ({counts['auto'] / total:.1%})"),
        ("unlabeled", f"{counts['unlabeled']:,} ({counts['unlabeled'] / total:.1%})"),
        (
            "certified agreement of the auto-labels",
            "none certified"
            if bound is None
            else f"≥ {bound:.2%} at {accuracy['confidence_level']:.0%} confidence (target "
            f"{accuracy['target']:.0%}; {accuracy['estimated']:.2%} observed on {accuracy['validation_items']:,} "
            "validation items)" + _class_limit_note(document),
        ),
    ]
    if "auto_label_accuracy" in measured:
        facts.append(("auto-label accuracy (measured on the true labels)", _pct(measured["auto_label_accuracy"])))
    facts += [
        ("rounds", len(document["rounds"])),
        ("human labels bought", f"{cost['human_labels_obtained']:,} (${cost['human_labeling_usd']:,.2f})"),
        ("started", document.get("started_at") or "—"),
        ("input manifest", document["input_manifest"]),
        ("final manifest", document.get("final_manifest") or "— (written when the run finishes)"),
    ]
    if "seconds" in measured:
        facts.append(("wall time", f"{measured['seconds']:.0f} s"))
    fact_rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts)
    round_rows = "".join(
        f"<tr><td>{r['round']}</td><td>{r['pool']:,}</td><td>{_threshold_cell(r)}</td>"
        f"<td>{r['auto_labeled']:,}</td><td>{_selected_cell(r)}</td><td>{r['calibration']['validation_items']:,}</td>"
        f"<td>{r['calibration']['certified_items']:,}</td>"
        f"<td>{_pct(r['calibration']['estimated_accuracy'])}</td><td>{_pct(r['calibration']['lower_bound'])}</td></tr>"
        for r in document["rounds"]
    )
    measured_classes = measured.get("per_class_accuracy")
    class_rows = "".join(
        f"<tr><td>{_e(c['class'])}</td><td>{c['auto_labeled']:,}</td><td>{c['validation_items']:,}</td>"
        f"<td>{_pct(c['agreement'])}</td><td>{_pct(c['missed'])}</td>"
        + (f"<td>{_pct(measured_classes.get(c['class']))}</td>" if measured_classes is not None else "")
        + "</tr>"
        for c in per_class(document)
    )
    measured_header = "<th>accuracy (measured)</th>" if measured_classes is not None else ""
    chart = _chart(timeline(document), total, accuracy["target"])
    return f"""<!doctype html><html lang="en"><meta charset="utf-8"><title>Labeling run {_e(name)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:62em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}th{{text-align:left;background:#f4f4f4}}
#summary td,#classes td:first-child{{text-align:left}}</style>
<h1>Labeling run {_e(name)}</h1>
<table id="summary">{fact_rows}</table>
<h2>Labels per round</h2>{chart}
<h2>Rounds</h2><table id="rounds"><tr><th>round</th><th>pool</th><th>threshold (margin)</th><th>auto-labeled</th>
<th>to humans</th><th>validation items</th><th>above the threshold</th><th>observed agreement</th>
<th>certified bound</th></tr>
{round_rows}</table>
<h2>Per class</h2><p>Validation items whose prediction was that class and that stand for its auto-labels, and how
many of them agree with people's labels; and, of the validation items people gave that class, the share counted
as auto-labeled another class (observed: certified per class only with MaxClassMissRate below 1).</p>
<table id="classes"><tr><th>class</th><th>auto-labeled</th><th>validation items</th><th>observed agreement</th>
<th>its items auto-labeled as another</th>{measured_header}</tr>{class_rows}</table>
</html>
"""


def _chart(points: list[dict], total: int, target: float | None) -> str:
    width, height, pad = 760, 300, 40
    bar = (width - 2 * pad) / max(len(points), 1)
    parts = [
        f'<svg id="chart" viewBox="0 0 {width} {height + 40}" width="{width}" role="img" aria-label="labels per round">'
    ]
    for i, point in enumerate(points):
        x, w, y0 = pad + i * bar + bar * 0.15, bar * 0.7, height - pad
        h_human = (height - 2 * pad) * point["human"] / total
        h_auto = (height - 2 * pad) * point["auto"] / total
        label = _e(point["label"])
        parts.append(
            f'<rect class="human" x="{x:.1f}" y="{y0 - h_human:.1f}" width="{w:.1f}" height="{h_human:.1f}" '
            f'fill="#4c78a8"><title>{label}: {point["human"]} human</title></rect>'
        )
        parts.append(
            f'<rect class="auto" x="{x:.1f}" y="{y0 - h_human - h_auto:.1f}" width="{w:.1f}" height="{h_auto:.1f}" '
            f'fill="#f58518"><title>{label}: {point["auto"]} auto</title></rect>'
        )
        parts.append(
            f'<text x="{x + w / 2:.1f}" y="{height - pad + 14}" font-size="10" text-anchor="middle">{label}</text>'
        )
        if point["bound"] is not None:  # a certified round: what its record saw, on an 80-100% scale
            y = y0 - (height - 2 * pad) * max(0.0, (point["observed"] - 0.8) / 0.2)
            parts.append(
                f'<circle class="bound" cx="{x + w / 2:.1f}" cy="{y:.1f}" r="4" fill="#54a24b">'
                f"<title>{label}: certified agreement ≥ {point['bound']:.2%}; observed on its validation items "
                f"{point['observed']:.2%}</title></circle>"
            )
    if target is not None:
        y = height - pad - (height - 2 * pad) * (target - 0.8) / 0.2
        parts.append(
            f'<line x1="{pad}" x2="{width - pad}" y1="{y:.1f}" y2="{y:.1f}" stroke="#54a24b" stroke-dasharray="4"/>'
        )
        parts.append(
            f'<text x="{width - pad}" y="{y - 4:.1f}" font-size="10" text-anchor="end" fill="#54a24b">'
            f"target {target:.0%} (agreement scale 80–100%)</text>"
        )
    parts.append(
        f'<text x="{pad}" y="{height + 20}" font-size="11"><tspan fill="#4c78a8">■ human</tspan> '
        '<tspan fill="#f58518">■ auto</tspan> (after each step, share of all items) '
        '<tspan fill="#54a24b">● a certified round: the agreement its validation items showed</tspan></text></svg>'
    )
    return "".join(parts)


def _e(value: object) -> str:
    return html.escape(str(value))


def _threshold_cell(summary: dict) -> str:
    """A round's threshold, or which round's certificate it kept (it adopted none of its own)."""
    if summary["threshold"] is not None or summary["certificate_round"] in (None, summary["round"]):
        return _number(summary["threshold"])
    return f"— (keeps round {summary['certificate_round']})"


def _selected_cell(summary: dict) -> str:
    """How many items the round sent to people, and whether they were a random calibration batch."""
    bought = (summary.get("calibration_batch") or {}).get("bought")
    return f"{summary['selected']:,} (random, to calibrate)" if bought else f"{summary['selected']:,}"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"
