"""`make bench`: labeling efficiency, measured. Runs the whole workflow in local mode over N seeded samples
(default 5 × 10,000 headlines drawn from the bundled 50,000-row UCI News sample, 20% pre-labeled, simulated
workers) and reports, per seed and worst case: the human and auto-labeled shares, the accuracy of the
auto-labels measured against the true labels and their agreement with the labels people give (the two differ
only with --label-noise), the bound the workflow claimed before seeing either, the accuracy per class, rounds
and seconds. Any CSV of labeled text works (--dataset, --text-column, --label-column); --protocol unlabeled
starts from no labels at all. `--strategy` takes a comma-separated list run side by side on the same samples;
`aws_sample` is the AWS sample's own rule (auto-label when the top-two margin > 0.5, random human picks of 10%
of the items per round).

Writes bench-results/bench.json and bench.md; the last line printed is one JSON object summarising the first
strategy (the others under "by_strategy").
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from labeler import request as labeling_request
from labeling_common import schemas, settings

from . import runner
from .deployment import STATE_DIR, LocalDeployment
from .runner import DEFAULTS
from .sample import Dataset, make_sample, positive_int

STRATEGIES = {  # every query strategy the request schema offers, plus the AWS sample's whole rule
    **{name: {"strategy": name} for name in settings.choices("QueryStrategy")},
    "aws_sample": {"strategy": "random", "auto_label_method": "margin_threshold", "batch_share": 0.10},
}


# The presets that run here: the bundled model (local mode's default) and BlazingText, the AWS default, through
# its local stand-in (containers/blazingtext-standin) with the calibration mode it has on AWS (holdout).
MODEL_PRESETS = ("bundled", "bundled_image", "blazingtext")


PROTOCOLS = {
    # The AWS blog's: 20% of the input arrives labeled (a random 20%), the workflow labels the rest.
    "prelabeled": 0.2,
    # No label in the input: every human label, the random bootstrap included, is bought by the workflow.
    "unlabeled": 0.0,
}


def run_one(deployment, dataset, args, strategy: str, seed: int) -> dict:
    sample = make_sample(
        dataset, args.size, seed=seed, prelabeled_fraction=PROTOCOLS[args.protocol], label_noise=args.label_noise
    )
    name = f"bench-{strategy.replace('_', '-')}-{seed}-{int(time.time())}"
    files = sample.write(STATE_DIR / "bench" / name)
    preset = dict(STRATEGIES[strategy])
    batch_share = preset.pop("batch_share", None)
    options = runner.RunOptions(
        name=name,
        seed=seed,
        worker_accuracy=args.worker_accuracy,
        workers_per_item=args.workers_per_item,
        human_batch_size=round(args.size * batch_share) if batch_share else args.human_batch_size,
        target_accuracy=args.target_accuracy,
        confidence_level=args.confidence_level,
        max_class_miss_rate=args.max_class_miss_rate,
        bootstrap_fraction=args.bootstrap_fraction,
        timeout_seconds=args.timeout,
        **preset,
    )
    run = runner.start(deployment, sample, options, files["answers"])
    output = runner.wait(deployment, run, on_progress=lambda line: None)
    summary = runner.measure(deployment, run, output, STATE_DIR / "bench" / name)
    per_class = [v for v in summary["per_class_auto_label_accuracy"].values() if v is not None]
    row = {
        "strategy": strategy,
        "seed": seed,
        "items": summary["items"],
        "human_fraction": summary["human_labeled"] / summary["items"],
        "auto_fraction": summary["auto_labeled"] / summary["items"],
        "auto_label_accuracy": summary["auto_label_accuracy"],
        "auto_label_agreement": summary["auto_label_agreement"],
        "claimed_lower_bound": summary["claimed_accuracy_lower_bound"],
        # The claim is about agreement with the labels people give, so that is what it is checked against.
        "claim_held": None
        if summary["auto_label_agreement"] is None or summary["claimed_accuracy_lower_bound"] is None
        else summary["auto_label_agreement"] >= summary["claimed_accuracy_lower_bound"],
        "worst_class_accuracy": min(per_class) if per_class else None,
        "per_class_accuracy": summary["per_class_auto_label_accuracy"],
        "worst_class_missed": _worst(summary["per_class_missed"].values(), max),
        "worst_class_missed_true": _worst(summary["per_class_missed_true"].values(), max),
        "per_class_missed": summary["per_class_missed"],
        "human_label_accuracy": summary["human_label_accuracy"],
        "rounds": summary["rounds"],
        "seconds": summary["seconds"],
        "stop_reason": summary["stop_reason"],
    }
    print(
        f"  {strategy:<16} seed {seed:>3}: human {row['human_fraction']:6.1%}  auto {row['auto_fraction']:6.1%}  "
        f"accuracy {_pct(row['auto_label_accuracy'])}  agreement {_pct(row['auto_label_agreement'])}  "
        f"claimed ≥ {_pct(row['claimed_lower_bound'])}  "
        f"worst class {_pct(row['worst_class_accuracy'])}  most missed {_pct(row['worst_class_missed'])}  "
        f"rounds {row['rounds']:>2}  {row['seconds']:5.0f}s",
        flush=True,
    )
    return row


def _pct(value: float | None) -> str:
    return "   —  " if value is None else f"{value:6.2%}"


def _worst(values, pick):
    present = [v for v in values if v is not None]
    return pick(present) if present else None


def _mean(values) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 5) if present else None


def summarise(rows: list[dict], dataset: Dataset, args: argparse.Namespace, strategy: str, seconds: float) -> dict:
    size = args.size
    mine = [r for r in rows if r["strategy"] == strategy]
    held = [r["claim_held"] for r in mine if r["claim_held"] is not None]
    return {
        "dataset": str(dataset.path.name),
        "one_vs_rest": dataset.one_vs_rest,
        "class_share": dataset.class_share,
        "size": size,
        "protocol": args.protocol,
        "model_preset": args.model_preset,
        "cross_fit_folds": args.cross_fit_folds,
        "label_noise": args.label_noise,
        "target_accuracy": args.target_accuracy,
        "confidence_level": args.confidence_level,
        "seeds": len(mine),
        "strategy": strategy,
        "worst_human_fraction": round(max(r["human_fraction"] for r in mine), 4),
        "mean_human_fraction": round(sum(r["human_fraction"] for r in mine) / len(mine), 4),
        "worst_auto_label_accuracy": _worst([r["auto_label_accuracy"] for r in mine], min),
        "mean_auto_label_accuracy": _mean([r["auto_label_accuracy"] for r in mine]),
        "worst_auto_label_agreement": _worst([r["auto_label_agreement"] for r in mine], min),
        "mean_auto_label_agreement": _mean([r["auto_label_agreement"] for r in mine]),
        "runs_without_auto_labels": sum(r["auto_fraction"] == 0 for r in mine),
        "min_claimed_lower_bound": _worst([r["claimed_lower_bound"] for r in mine], min),
        "worst_class_accuracy": _worst([r["worst_class_accuracy"] for r in mine], min),
        "worst_class_missed": _worst([r["worst_class_missed"] for r in mine], max),
        "worst_class_missed_true": _worst([r["worst_class_missed_true"] for r in mine], max),
        "claim_held_fraction": round(sum(held) / len(held), 3) if held else None,
        "seconds": round(seconds, 1),
    }


def markdown(rows: list[dict], summaries: list[dict]) -> str:
    """The per-seed table with a worst / mean line per strategy (the strategy column only when several ran):
    the tables of docs/efficiency.md are this output, pasted by `--doc` (never edited by hand)."""
    several = len(summaries) > 1
    lead = ["strategy"] if several else []
    header = lead + ["seed", "human %", "auto %", "accuracy (true labels)", "agreement (people's labels)"]
    header += ["claimed bound", "worst class", "rounds", "seconds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(lead) + "---:|" * (len(header) - len(lead))]
    for r in rows:
        cells = ([r["strategy"]] if several else []) + [str(r["seed"]), f"{r['human_fraction']:.1%}"]
        cells += [f"{r['auto_fraction']:.1%}", _pct(r["auto_label_accuracy"]).strip()]
        cells += [_pct(r["auto_label_agreement"]).strip(), _pct(r["claimed_lower_bound"]).strip()]
        cells += [_pct(r["worst_class_accuracy"]).strip(), str(r["rounds"]), f"{r['seconds']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    for s in summaries:
        cells = ([f"**{s['strategy']}**"] if several else []) + ["**worst / mean**"]
        cells += [f"**{s['worst_human_fraction']:.1%}** / {s['mean_human_fraction']:.1%}", ""]
        cells += [f"**{_pct(s['worst_auto_label_accuracy']).strip()}**"]
        cells += [f"**{_pct(s['worst_auto_label_agreement']).strip()}**", _pct(s["min_claimed_lower_bound"]).strip()]
        cells += [_pct(s["worst_class_accuracy"]).strip(), "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paste(document: Path, section: str, table: str, command: str) -> None:
    """Replace the table between `<!-- bench:SECTION -->` and `<!-- /bench:SECTION -->` in a document."""
    text = document.read_text(encoding="utf-8")
    begin, end = f"<!-- bench:{section} -->", f"<!-- /bench:{section} -->"
    if text.count(begin) != 1 or text.count(end) != 1:
        raise SystemExit(f"{document} has no single {begin} … {end} section")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    generated = f"{begin}\n<!-- generated by: {command} -->\n{table}\n{end}"
    document.write_text(head + generated + tail, encoding="utf-8")


def deployment_variables(args: argparse.Namespace) -> dict:
    """The Terraform variables the bench deploys with: the model preset, and the fold count when one is given
    (otherwise Terraform's default stands)."""
    variables = {"model_preset": args.model_preset}
    if args.cross_fit_folds is not None:
        variables["cross_fit_folds"] = args.cross_fit_folds
    return variables


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make bench ARGS=...", description=__doc__.split("\n\n")[0])
    runner.add_simulation_options(p)
    p.add_argument(
        "--one-vs-rest",
        metavar="VALUE",
        help="make the set binary: this value of the label column against all the others (e.g. m on UCI News)",
    )
    p.add_argument(
        "--class-share",
        type=float,
        metavar="F",
        help="with --one-vs-rest: that class is exactly this share of every sample (e.g. 0.02: a rare class)",
    )
    p.add_argument("--seeds", type=positive_int, default=5)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--size", type=positive_int, default=10_000)
    p.add_argument(
        "--strategy", default=DEFAULTS["QueryStrategy"], help=f"comma-separated, from {', '.join(STRATEGIES)}"
    )
    labeling_request.add_setting_options(
        p,
        ("human_batch_size", "target_accuracy", "confidence_level", "max_class_miss_rate", "bootstrap_fraction"),
        with_defaults=True,
    )
    p.add_argument(
        "--protocol",
        choices=sorted(PROTOCOLS),
        default="prelabeled",
        help="prelabeled: 20%% of the input arrives labeled (default); unlabeled: none does",
    )
    p.add_argument(
        "--model-preset",
        choices=MODEL_PRESETS,
        default="bundled",
        help="the Terraform model_preset: bundled (default: the project model on the scikit-learn image, script mode), "
        "bundled_image (the same model as its own image) or blazingtext (its local stand-in, holdout calibration)",
    )
    p.add_argument(
        "--cross-fit-folds",
        type=int,
        help="the Terraform cross_fit_folds (default: Terraform's, 5): how many fold models score the calibration "
        "items out-of-fold",
    )
    p.add_argument("--out", type=Path, default=Path("bench-results"))
    p.add_argument("--doc", type=Path, help="a document whose marked table this run regenerates (with --section)")
    p.add_argument("--section", help="the name in the document's <!-- bench:NAME --> … <!-- /bench:NAME --> markers")
    args = p.parse_args(argv)
    if (args.doc is None) != (args.section is None):
        p.error("--doc and --section go together")
    strategies = args.strategy.split(",")
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        p.error(f"unknown strategy {unknown}; choose from {list(STRATEGIES)}")
    if not 0.0 <= args.label_noise < 1.0:
        p.error("--label-noise must be within [0, 1)")
    if args.cross_fit_folds is not None:  # the range Terraform's cross_fit_folds validates, from its one source
        refused = schemas.find_error(args.cross_fit_folds, "model-config.schema.json#/properties/cross_fit_folds")
        if refused is not None:
            p.error(f"--cross-fit-folds: {refused[1]} (Terraform's cross_fit_folds)")
    dataset = Dataset(args.dataset, args.text_column, args.label_column) if args.dataset else Dataset.bundled()
    if args.class_share is not None and (args.one_vs_rest is None or not 0.0 < args.class_share < 1.0):
        p.error("--class-share needs --one-vs-rest and a share within (0, 1)")
    if args.one_vs_rest is not None:
        dataset = dataclasses.replace(dataset, one_vs_rest=args.one_vs_rest, class_share=args.class_share)
    started = time.monotonic()
    rows = []
    variables = deployment_variables(args)
    deployment = LocalDeployment(state_dir=STATE_DIR / "bench-deployment", terraform_variables=variables)
    with deployment:
        print(
            f"Deployed locally ({args.model_preset} model) in {deployment.timings['terraform_apply_seconds']:.0f}s; "
            f"{args.seeds} seeds × {', '.join(strategies)} on {args.size:,} items of {dataset.path.name}",
            flush=True,
        )
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            for strategy in strategies:
                rows.append(run_one(deployment, dataset, args, strategy, seed))
    elapsed = time.monotonic() - started
    summaries = [summarise(rows, dataset, args, s, elapsed) for s in strategies]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(
        json.dumps(
            {"rows": rows, "summaries": summaries, "arguments": {k: str(v) for k, v in vars(args).items()}}, indent=1
        )
    )
    table = markdown(rows, summaries)
    (args.out / "bench.md").write_text(table + "\n")
    if args.doc is not None:
        command = "make bench ARGS='" + " ".join(a for a in (argv if argv is not None else sys.argv[1:])) + "'"
        paste(args.doc, args.section, table, command)
    print("\n" + table + "\n")
    result = (
        {**summaries[0], "by_strategy": {s["strategy"]: s for s in summaries[1:]}}
        if len(summaries) > 1
        else summaries[0]
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
