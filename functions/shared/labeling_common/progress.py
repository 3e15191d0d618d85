"""What the outer loop does next: the workflow's decision rules, as one pure function.

The state machine's Choice states only read `progress.next`; the rules themselves live here, where they
are unit-tested: stop when everything is labeled; ask humans for the round's selection; top the human share
up to the bootstrap (a fraction of the items, at most what the threshold search can use); stop at the round
or human-label budget, or when nothing moves any more; otherwise run another active-learning round.
"""

from __future__ import annotations

import math

from .certification import bootstrap_items
from .layout import round_execution_name

MAX_BATCH_ITEMS = 100_000  # Ground Truth's limit of objects per labeling job
MAX_VALIDATION_ITEMS = 20_000
"""Beyond this many calibration items the Clopper-Pearson bound barely tightens (at 95% observed accuracy its
slack is 0.25 points at 20,000 items), while memory would grow with the dataset: the cap keeps it flat."""


def new_counts(total: int = 0, human: int = 0, auto: int = 0, validation: int = 0) -> dict:
    return {"total": total, "human": human, "auto": auto, "unlabeled": total - human - auto, "validation": validation}


def human_budget_left(config: dict, counts: dict) -> float:
    limit = config["max_human_labels"]
    return math.inf if limit == 0 else max(0, limit - counts["human"])


def bootstrap_target(config: dict, counts: dict) -> int:
    """Human labels wanted before the first round: BootstrapFraction of all items, but never more than the
    threshold search can use (`certification.bootstrap_items`); calibration batches buy more if they pay."""
    share = math.ceil(config["bootstrap_fraction"] * counts["total"])
    return min(share, bootstrap_items(config["target_accuracy"], config["confidence_level"]))


def decide(
    config: dict,
    counts: dict,
    *,
    rounds_done: int,
    selection: dict | None = None,
    stalled: bool = False,
    after_round: bool = False,
) -> tuple[str, str | None, dict | None]:
    """Return (next, stop_reason, pending_batch).

    selection: {"uri", "size"} of the items the last round picked for humans, if any.
    stalled: the last human batch produced no label at all (e.g. every task expired).
    after_round: the last step was a round, so the current model has already seen every human label.
    """
    if counts["unlabeled"] == 0:
        return "export", "all_labeled", None
    if stalled:
        return "export", "no_progress", None
    budget = human_budget_left(config, counts)
    if selection and selection["size"] > 0:
        if budget <= 0:
            return "export", "max_human_labels", None
        size = int(min(selection["size"], budget, MAX_BATCH_ITEMS))
        return "human_batch", None, {"kind": "selection", "size": size, "selection_uri": selection["uri"]}
    missing = bootstrap_target(config, counts) - counts["human"]
    if missing > 0 and budget > 0:
        size = int(min(missing, counts["unlabeled"], budget, MAX_BATCH_ITEMS))
        return "human_batch", None, {"kind": "bootstrap", "size": size, "selection_uri": None}
    # A budget below the bootstrap target still gets one round on the labels it allowed.
    if after_round and budget <= 0:
        return "export", "max_human_labels", None  # no new label can come, so another round changes nothing
    if rounds_done >= config["max_rounds"]:
        return "export", "max_rounds", None
    return "round", None, None


def build(
    config: dict,
    *,
    run_id: str,
    attempt: int,
    step: int,
    working_manifest_uri: str,
    counts: dict,
    rounds_done: int,
    validation_uri: str | None,
    certificate_round: int | None = None,
    selection: dict | None = None,
    stalled: bool = False,
    after_round: bool = False,
) -> dict:
    """The progress object every step returns (see workflow-state.schema.json#/$defs/progress)."""
    next_step, stop_reason, pending = decide(
        config, counts, rounds_done=rounds_done, selection=selection, stalled=stalled, after_round=after_round
    )
    return {
        "run_id": run_id,
        "attempt": attempt,
        "step": step,
        "working_manifest_uri": working_manifest_uri,
        "counts": counts,
        "round": rounds_done,
        "next": next_step,
        "stop_reason": stop_reason,
        "pending_batch": pending,
        "validation_uri": validation_uri,
        "certificate_round": certificate_round,
        "round_execution_name": round_execution_name(run_id, attempt, rounds_done + 1),
    }
