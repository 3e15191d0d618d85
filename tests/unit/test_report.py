"""The run report shared by ExportFinal, `labeler report` and local mode: the document built from the
checkpoint's history and the round summaries, per-class figures, the timeline and the HTML."""

from __future__ import annotations

from html.parser import HTMLParser

from labeling_common import report
from tests.support import RUN_CONFIG as CONFIG


def summary(
    round_number: int, auto: list[int], validation: list[tuple[int, int]], bound: float | None, in_force: int | None
) -> dict:
    return {
        "round": round_number,
        "certificate_round": in_force,
        "pool": 800,
        "threshold": None if bound is None else 0.9,
        "auto_labeled": sum(auto),
        "selected": 100,
        "calibration_batch": {"bought": bound is None},  # a round that certifies nothing here buys calibration
        "calibration": {
            "validation_items": 500,
            "certified_items": sum(n for n, _ in validation),
            "estimated_accuracy": None if bound is None else 0.97,
            "lower_bound": bound,
        },
        "per_class": [
            {
                "class": name,
                "auto_labeled": a,
                "validation_items": n,
                "validation_correct": k,
                "validation_labeled": labeled,
                "validation_missed": missed,
            }
            for name, a, (n, k), (labeled, missed) in zip(
                ("<b>usiness", "tech"), auto, validation, ((150, 3), (50, 4)), strict=True
            )  # fmt: skip
        ],
    }


SUMMARIES = {
    1: summary(1, [300, 100], [(60, 59), (20, 18)], 0.951, 1),
    2: summary(2, [0, 0], [(0, 0), (0, 0)], None, 1),  # certified nothing: round 1's set and certificate stay
}
REPLACED = {**SUMMARIES, 2: summary(2, [350, 150], [(70, 69), (25, 24)], 0.953, 2)}  # round 2's set replaces it
HISTORY = [
    {"kind": "bootstrap", "step": 0, "total": 1000, "human": 200, "auto": 0, "unlabeled": 800},
    {"kind": "round", "step": 1, "round": 1, "summary_uri": "s3://b/r1.json"},
    {"kind": "human_batch", "step": 2, "sent": 100, "labeled": 99},
    {"kind": "round", "step": 3, "round": 2, "summary_uri": "s3://b/r2.json"},
]
PROGRESS = {
    "round": 2,
    "stop_reason": None,
    "counts": {"total": 1000, "human": 299, "auto": 400, "unlabeled": 301, "validation": 80},
}


def document(finished: bool, summaries: dict = SUMMARIES) -> dict:
    return report.build(
        CONFIG,
        {**PROGRESS, "stop_reason": "max_rounds"} if finished else PROGRESS,
        HISTORY,
        summaries,
        execution={"arn": "arn:aws:states:us-east-1:1:execution:loop:run-3", "name": "run-3"},
        final_manifest_uri="s3://b/final.manifest" if finished else None,
        created_at="2026-12-01T10:00:00Z",
        finished_at="2026-12-01T12:00:00Z" if finished else None,
    )


class Tables(HTMLParser):
    """The text of every table cell, by table id; and the SVG shapes by class."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.shapes: dict[str, int] = {}
        self._table = self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = ""
        elif tag in ("rect", "circle"):
            self.shapes[attrs.get("class", "")] = self.shapes.get(attrs.get("class", ""), 0) + 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._table[-1].append(self._cell.strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def parsed(html: str) -> Tables:
    tables = Tables()
    tables.feed(html)
    return tables


def test_the_document_counts_bought_labels_and_keeps_the_last_certified_bound():
    found = document(finished=True)
    assert found["cost"] == {
        "human_labels_requested": 100,
        "human_labels_obtained": 99,
        "usd_per_label": 0.036,
        "human_labeling_usd": 3.56,
    }
    assert found["auto_label_accuracy"]["lower_bound"] == 0.951  # round 2 certified nothing: round 1's stands
    assert found["auto_label_accuracy"]["validation_items"] == 80
    assert found["initial_counts"] == {"total": 1000, "human": 200, "auto": 0, "unlabeled": 800}
    assert [r["step"] for r in found["rounds"]] == [1, 3] and found["settings"]["seed"] == 3


def test_per_class_takes_the_figures_of_the_certificate_in_force():
    assert report.per_class(document(finished=True)) == [
        {"class": "<b>usiness", "auto_labeled": 300, "validation_items": 60, "validation_correct": 59,
         "agreement": 59 / 60, "validation_labeled": 150, "missed": 0.02},
        {"class": "tech", "auto_labeled": 100, "validation_items": 20, "validation_correct": 18, "agreement": 0.9,
         "validation_labeled": 50, "missed": 0.08},
    ]  # fmt: skip
    assert [(c["auto_labeled"], c["validation_items"]) for c in report.per_class(document(True, REPLACED))] == [
        (350, 70),
        (150, 25),
    ]
    assert report.per_class({**document(finished=True), "rounds": []}) == []


def test_a_round_that_adopts_its_certificate_replaces_the_claim_and_the_auto_labels():
    found = document(True, REPLACED)
    assert found["auto_label_accuracy"]["lower_bound"] == 0.953
    assert found["auto_label_accuracy"]["validation_items"] == 95
    assert [p["auto"] for p in report.timeline(found)] == [0, 400, 400, 500]  # replaced, not added
    nothing = {1: summary(1, [0, 0], [(0, 0), (0, 0)], None, None)}
    found = report.build(CONFIG, PROGRESS, HISTORY[:2], nothing, execution={}, final_manifest_uri=None,
                         created_at=None, finished_at=None)  # fmt: skip
    assert found["auto_label_accuracy"]["lower_bound"] is None and report.per_class(found)[0]["auto_labeled"] == 0


def built(history: list[dict], auto: int, summaries: dict = SUMMARIES) -> dict:
    progress = {**PROGRESS, "counts": {**PROGRESS["counts"], "auto": auto}}
    return report.build(CONFIG, progress, history, summaries, execution={}, final_manifest_uri=None,
                        created_at=None, finished_at=None)  # fmt: skip


def test_random_calibration_picks_take_their_auto_labels_from_the_set_in_force():
    """A random calibration batch is drawn from the whole pool, auto-labels included, and people's answers replace
    those: the timeline and the per-class counts of the set in force lose them (a later adopting round's own
    counts stand); once none is left, as on a small dataset whose batches are all random, the report claims
    nothing, whatever certificate stands."""
    took = lambda per_class: [*HISTORY[:2], {**HISTORY[2], "auto_relabeled": per_class}, HISTORY[3]]  # noqa: E731
    found = built(took([30, 10]), auto=360)
    assert [p["auto"] for p in report.timeline(found)] == [0, 400, 360, 360]
    assert [c["auto_labeled"] for c in report.per_class(found)] == [270, 90]
    assert found["auto_label_accuracy"]["lower_bound"] == 0.951
    assert [c["auto_labeled"] for c in report.per_class(built(took([30, 10]), 500, REPLACED))] == [350, 150]
    emptied = built(took([300, 100]), auto=0)
    assert (
        emptied["auto_label_accuracy"]["lower_bound"] is None
        and emptied["auto_label_accuracy"]["validation_items"] == 0
    )
    assert [c["auto_labeled"] for c in report.per_class(emptied)] == [0, 0] and report.most_missed(emptied) is None
    assert dict(parsed(report.render_html(emptied)).tables["summary"])["certified agreement of the auto-labels"] == (
        "none certified"
    )


def test_the_timeline_adds_each_batch_and_round_in_step_order():
    points = report.timeline(document(finished=True))
    assert [(p["label"], p["human"], p["auto"], p["bound"], p["observed"]) for p in points] == [
        ("input", 200, 0, None, None),
        ("round 1", 200, 400, 0.951, 0.97),
        ("humans 2", 299, 400, None, None),
        ("round 2", 299, 400, None, None),
    ]
    chart = report.render_html(document(finished=True))  # a certified round's dot: what its record saw
    assert "round 1: certified agreement ≥ 95.10%; observed on its validation items 97.00%" in chart


def test_the_html_shows_the_figures_of_the_document_escaped():
    html = report.render_html(document(finished=True))
    tables = parsed(html)
    facts = dict(tables.tables["summary"])
    assert facts["state"] == "finished (max_rounds) at 2026-12-01T12:00:00Z"
    assert facts["human-labeled"] == "299 (29.9%)" and facts["auto-labeled"] == "400 (40.0%)"
    assert facts["certified agreement of the auto-labels"].startswith("≥ 95.10% at 95% confidence")
    assert facts["human labels bought"] == "99 ($3.56)"
    assert "auto-label accuracy (measured on the true labels)" not in facts  # only local mode knows the truth
    assert tables.tables["rounds"][1:] == [
        ["1", "800", "0.9000", "400", "100", "500", "80", "97.00%", "95.10%"],
        ["2", "800", "— (keeps round 1)", "0", "100 (random, to calibrate)", "500", "0", "—", "—"],
    ]
    assert tables.tables["classes"][1] == ["<b>usiness", "300", "60", "98.33%", "2.00%"]
    assert "auto-labeled as another" not in facts["certified agreement of the auto-labels"]  # no per-class limit set
    assert "<b>usiness" not in html  # a class name is text, never markup
    assert tables.shapes == {"human": 4, "auto": 4, "bound": 1}  # a bar per point, a dot per certified bound


def test_a_run_in_progress_and_local_measurements_are_shown_as_such():
    html = report.render_html(
        document(finished=False),
        {"auto_label_accuracy": 0.9612, "per_class_accuracy": {"<b>usiness": 0.99, "tech": None}, "seconds": 61},
    )
    tables = parsed(html)
    facts = dict(tables.tables["summary"])
    assert facts["state"].startswith("in progress: 2 rounds so far")
    assert facts["final manifest"].startswith("— (written when the run finishes)")
    assert facts["auto-label accuracy (measured on the true labels)"] == "96.12%" and facts["wall time"] == "61 s"
    assert tables.tables["classes"][0][-1] == "accuracy (measured)"
    assert [row[-1] for row in tables.tables["classes"][1:]] == ["99.00%", "—"]


def test_a_per_class_limit_is_part_of_the_stated_claim_and_older_summaries_show_no_estimate():
    limited = {**document(finished=True), "auto_label_accuracy": {**document(True)["auto_label_accuracy"],
                                                                  "max_class_miss_rate": 0.1}}  # fmt: skip
    facts = dict(parsed(report.render_html(limited)).tables["summary"])
    assert facts["certified agreement of the auto-labels"].endswith(
        "; no class with more than 10% of its items auto-labeled as another"
    )
    older = {1: {**SUMMARIES[1], "per_class": [
        {key: value for key, value in entry.items() if key not in ("validation_labeled", "validation_missed")}
        for entry in SUMMARIES[1]["per_class"]
    ]}, 2: SUMMARIES[2]}  # fmt: skip
    assert [c["missed"] for c in report.per_class(document(True, older))] == [None, None]


def test_a_report_written_before_the_per_class_limit_still_renders_and_untested_classes_are_named():
    before = document(finished=True)
    del before["auto_label_accuracy"]["max_class_miss_rate"]  # report.json of an older run
    facts = dict(parsed(report.render_html(before)).tables["summary"])
    assert facts["certified agreement of the auto-labels"].startswith("≥ 95.10% at 95% confidence")
    older_config = {key: value for key, value in CONFIG.items() if key != "max_class_miss_rate"}
    rebuilt = report.build(older_config, PROGRESS, HISTORY, SUMMARIES, execution={}, final_manifest_uri=None,
                           created_at=None, finished_at=None)  # fmt: skip
    assert rebuilt["auto_label_accuracy"]["max_class_miss_rate"] == 1.0
    unseen = {1: {**SUMMARIES[1], "per_class": [SUMMARIES[1]["per_class"][0],
                                                {**SUMMARIES[1]["per_class"][1], "validation_labeled": 0,
                                                 "validation_missed": 0}]}, 2: SUMMARIES[2]}  # fmt: skip
    limited = document(True, unseen)
    limited["auto_label_accuracy"]["max_class_miss_rate"] = 0.2
    facts = dict(parsed(report.render_html(limited)).tables["summary"])
    assert facts["certified agreement of the auto-labels"].endswith(
        "; no class with more than 20% of its items auto-labeled as another (not tested, no calibration item of: tech)"
    )


def test_the_class_most_often_auto_labeled_as_another_is_named_with_its_evidence_and_the_limit():
    assert report.most_missed(document(finished=True)) == {
        "class": "tech", "missed": 0.08, "validation_labeled": 50, "max_class_miss_rate": 1.0,
    }  # fmt: skip
    nothing = {1: summary(1, [0, 0], [(0, 0), (0, 0)], None, None)}
    uncertified = report.build(CONFIG, PROGRESS, HISTORY[:2], nothing, execution={}, final_manifest_uri=None,
                               created_at=None, finished_at=None)  # fmt: skip
    assert report.most_missed(uncertified) is None
    older = {1: {**SUMMARIES[1], "per_class": [
        {key: value for key, value in entry.items() if key not in ("validation_labeled", "validation_missed")}
        for entry in SUMMARIES[1]["per_class"]
    ]}, 2: SUMMARIES[2]}  # fmt: skip
    assert report.most_missed(document(True, older)) is None  # summaries written before the per-class record
