"""A one-file HTML report of a run: the summary, one row per round, and a chart of how the labels grew
(human vs auto, per round) with the certified accuracy bound. Inline SVG, no dependencies."""

from __future__ import annotations

import html
from pathlib import Path


def timeline(report: dict) -> list[dict]:
    """Cumulative human and auto labels after the bootstrap and after every human batch and round."""
    start = report.get("initial_counts") or {"human": 0, "auto": 0}
    human, auto = start["human"], start["auto"]
    points = [{"label": "input", "human": human, "auto": auto, "bound": None}]
    events = [("batch", b) for b in report["human_batches"]] + [("round", r) for r in report["rounds"]]
    for kind, item in sorted(events, key=lambda event: event[1]["step"]):
        if kind == "batch":
            human += item["labeled"]
            points.append({"label": f"humans {item['step']}", "human": human, "auto": auto, "bound": None})
        else:
            auto += item["auto_labeled"]
            points.append(
                {
                    "label": f"round {item['round']}",
                    "human": human,
                    "auto": auto,
                    "bound": item["calibration"]["lower_bound"],
                }
            )
    return points


def _chart(points: list[dict], total: int, target: float | None) -> str:
    width, height, pad = 760, 300, 40
    bar = (width - 2 * pad) / max(len(points), 1)
    parts = [f'<svg viewBox="0 0 {width} {height + 40}" width="{width}" role="img" aria-label="labels per round">']
    for i, point in enumerate(points):
        x = pad + i * bar + bar * 0.15
        w = bar * 0.7
        h_human = (height - 2 * pad) * point["human"] / total
        h_auto = (height - 2 * pad) * point["auto"] / total
        y0 = height - pad
        parts.append(
            f'<rect x="{x:.1f}" y="{y0 - h_human:.1f}" width="{w:.1f}" height="{h_human:.1f}" fill="#4c78a8">'
            f"<title>{html.escape(point['label'])}: {point['human']} human</title></rect>"
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{y0 - h_human - h_auto:.1f}" width="{w:.1f}" height="{h_auto:.1f}" '
            f'fill="#f58518"><title>{html.escape(point["label"])}: {point["auto"]} auto</title></rect>'
        )
        parts.append(
            f'<text x="{x + w / 2:.1f}" y="{height - pad + 14}" font-size="10" text-anchor="middle">'
            f"{html.escape(point['label'])}</text>"
        )
        if point["bound"] is not None:  # accuracy bound on a 0.8..1.0 scale across the same height
            y = y0 - (height - 2 * pad) * max(0.0, (point["bound"] - 0.8) / 0.2)
            parts.append(
                f'<circle cx="{x + w / 2:.1f}" cy="{y:.1f}" r="4" fill="#54a24b">'
                f"<title>certified accuracy ≥ {point['bound']:.4f}</title></circle>"
            )
    if target is not None:
        y = height - pad - (height - 2 * pad) * (target - 0.8) / 0.2
        parts.append(
            f'<line x1="{pad}" x2="{width - pad}" y1="{y:.1f}" y2="{y:.1f}" stroke="#54a24b" stroke-dasharray="4"/>'
        )
        parts.append(
            f'<text x="{width - pad}" y="{y - 4:.1f}" font-size="10" text-anchor="end" fill="#54a24b">'
            f"target {target:.0%} (accuracy scale 80–100%)</text>"
        )
    parts.append(
        f'<text x="{pad}" y="{height + 20}" font-size="11"><tspan fill="#4c78a8">■ human</tspan> '
        '<tspan fill="#f58518">■ auto</tspan> (share of all items) '
        '<tspan fill="#54a24b">● certified auto-label accuracy bound</tspan></text></svg>'
    )
    return "".join(parts)


def render(report: dict, summary: dict) -> str:
    counts = report["counts"]
    rows = "".join(
        f"<tr><td>{r['round']}</td><td>{r['pool']}</td><td>{_number(r['threshold'])}</td>"
        f"<td>{r['auto_labeled']}</td><td>{r['selected']}</td><td>{r['calibration']['cumulative_items']}</td>"
        f"<td>{_pct(r['calibration']['estimated_accuracy'])}</td><td>{_pct(r['calibration']['lower_bound'])}</td></tr>"
        for r in report["rounds"]
    )
    facts = [
        ("items", counts["total"]),
        ("human-labeled", f"{counts['human']} ({counts['human'] / counts['total']:.1%})"),
        ("auto-labeled", f"{counts['auto']} ({counts['auto'] / counts['total']:.1%})"),
        ("unlabeled", counts["unlabeled"]),
        ("stop reason", report["stop_reason"]),
        ("auto-label accuracy (measured)", _pct(summary.get("auto_label_accuracy"))),
        ("certified lower bound (claimed)", _pct(summary.get("claimed_accuracy_lower_bound"))),
        ("rounds", len(report["rounds"])),
        ("human labeling cost", f"${report['cost']['human_labeling_usd']:,.2f}"),
        ("wall time", f"{summary.get('seconds', 0):.0f} s"),
    ]
    fact_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts)
    chart = _chart(timeline(report), counts["total"], report["auto_label_accuracy"]["target"])
    return f"""<!doctype html><html lang="en"><meta charset="utf-8"><title>Active labeling run</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}th{{text-align:left;background:#f4f4f4}}</style>
<h1>Active labeling run</h1><p>{html.escape(report["final_manifest"])}</p>
<table>{fact_rows}</table>{chart}
<h2>Rounds</h2><table><tr><th>round</th><th>pool</th><th>threshold (margin)</th><th>auto-labeled</th>
<th>to humans</th><th>validation items (cumulative)</th><th>estimated accuracy</th><th>certified bound</th></tr>
{rows}</table>
</html>"""


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def write(path: Path, report: dict, summary: dict) -> Path:
    path.write_text(render(report, summary), encoding="utf-8")
    return path
