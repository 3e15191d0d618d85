"""The bench's samples: pre-labels, the labels people give under injected noise, the true labels kept apart."""

import dataclasses
import json

import pytest

from local.sample import KEY_FIELD, Dataset, make_sample, read_rows


def test_label_noise_corrupts_pre_labels_and_answers_alike_and_keeps_the_truth_apart(tmp_path):
    clean = make_sample(Dataset.bundled(), 4000, seed=3, prelabeled_fraction=0.2)
    noisy = make_sample(Dataset.bundled(), 4000, seed=3, prelabeled_fraction=0.2, label_noise=0.05)
    assert noisy.truth == clean.truth and clean.given == clean.truth  # same items, truth untouched
    wrong = {key for key, label in noisy.given.items() if label != noisy.truth[key]}
    assert 0.04 * 4000 < len(wrong) < 0.06 * 4000  # about the asked fraction, each a *different* class
    prelabeled = [line for line in noisy.manifest if "category" in line]
    assert len(prelabeled) == 800
    assert all(line["category"] == noisy.given[line[KEY_FIELD]] for line in prelabeled)
    assert any(line[KEY_FIELD] in wrong for line in prelabeled)  # the calibration labels are noisy too
    names = [item["label"] for item in noisy.label_config["labels"]]
    assert all(line["category-metadata"]["class-name"] == names[line["category"]] for line in prelabeled)
    files = noisy.write(tmp_path)
    answers = [json.loads(line) for line in files["answers"].read_text().splitlines()]
    assert {a["key"]: a["label"] for a in answers} == noisy.given  # the simulated workers answer the same
    assert "category" not in json.dumps([line for line in noisy.manifest if KEY_FIELD in line][900:])
    # seeded: the same call gives the same noise
    again = make_sample(Dataset.bundled(), 4000, seed=3, prelabeled_fraction=0.2, label_noise=0.05)
    assert again.given == noisy.given


def test_no_labels_in_the_input_for_the_unlabeled_protocol():
    sample = make_sample(Dataset.bundled(), 500, seed=1, prelabeled_fraction=0.0, label_noise=0.02)
    assert not any("category" in line for line in sample.manifest)


def test_a_csv_with_a_byte_order_mark_is_read_like_any_other(tmp_path):
    path = tmp_path / "spreadsheet.csv"
    rows = "".join(f"headline number {i},{'ab'[i % 2]}\r\n" for i in range(20))
    path.write_bytes("\ufefftext,label\r\n".encode() + rows.encode())  # as Excel writes "CSV UTF-8"
    sample = make_sample(Dataset(path, "text", "label"), 10, seed=0, prelabeled_fraction=0.2)
    assert len(sample.manifest) == 10 and sample.label_config["labels"] == [{"label": "a"}, {"label": "b"}]


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_the_delimiter_is_the_one_whose_header_holds_both_columns_and_labels_lose_their_spaces(tmp_path, delimiter):
    path = tmp_path / "labeled.txt"
    texts = [f"headline {i}, with a comma; a semicolon | and a bar" for i in range(40)]
    labels = ["a", " a", "b ", "b"]  # as hand-edited files have them: one class each
    rows = "".join(f'"{text}"{delimiter}{labels[i % 4]}\n' for i, text in enumerate(texts))
    path.write_text(f"text{delimiter}label\n" + rows, encoding="utf-8")
    sample = make_sample(Dataset(path, "text", "label"), 40, seed=0, prelabeled_fraction=0.5)
    assert sample.label_config["labels"] == [{"label": "a"}, {"label": "b"}]
    assert sorted(line["source"] for line in sample.manifest) == sorted(texts)  # the texts whole, their commas too
    assert all(sample.truth[line[KEY_FIELD]] == int(line["source"].split()[1].rstrip(",")) % 4 // 2
               for line in sample.manifest)  # fmt: skip
    with pytest.raises(SystemExit, match=r"labeled.txt: no column\(s\) \['title'\]; columns are \['text', 'label'\]"):
        make_sample(Dataset(path, "title", "label"), 10, seed=0, prelabeled_fraction=0.2)


def test_a_whole_document_in_a_field_is_read_and_a_file_not_in_utf8_is_refused_with_the_reason(tmp_path):
    (tmp_path / "long.csv").write_text(f'text,label\n"{"word " * 40_000}",a\nshort,b\n', encoding="utf-8")
    assert [len(row["text"]) for row in read_rows(Dataset(tmp_path / "long.csv", "text", "label"))] == [200_000, 5]
    (tmp_path / "latin-1.csv").write_bytes("text,label\ncafé news,a\n".encode("latin-1"))
    with pytest.raises(
        SystemExit, match=r"latin-1.csv: not UTF-8 text \(invalid continuation byte\); save it as UTF-8"
    ):
        read_rows(Dataset(tmp_path / "latin-1.csv", "text", "label"))


def test_one_class_against_the_rest_makes_a_binary_set_of_the_same_items():
    full = make_sample(Dataset.bundled(), 2000, seed=4, prelabeled_fraction=0.2, label_noise=0.02)
    health_vs_rest = dataclasses.replace(Dataset.bundled(), one_vs_rest="m")
    binary = make_sample(health_vs_rest, 2000, seed=4, prelabeled_fraction=0.2, label_noise=0.02)
    names = [item["label"] for item in full.label_config["labels"]]
    health = names.index("Health & Medicine")
    assert binary.label_config["labels"] == [{"label": "Health & Medicine"}, {"label": "not Health & Medicine"}]
    assert binary.truth == {key: 0 if label == health else 1 for key, label in full.truth.items()}
    assert 0.05 < sum(label == 0 for label in binary.truth.values()) / 2000 < 0.2  # imbalanced, as on UCI
    wrong = sum(binary.given[key] != label for key, label in binary.truth.items())
    assert 0.01 * 2000 < wrong < 0.03 * 2000  # noise on the binary labels, at the asked rate
    with pytest.raises(SystemExit, match="not a value of the label column"):
        make_sample(dataclasses.replace(health_vs_rest, one_vs_rest="x"), 10, seed=0, prelabeled_fraction=0.2)


def test_a_class_share_makes_that_class_exactly_so_rare_in_every_sample():
    rare = dataclasses.replace(Dataset.bundled(), one_vs_rest="m", class_share=0.02)
    samples = [make_sample(rare, 2000, seed=seed, prelabeled_fraction=0.0) for seed in (0, 1)]
    assert [sum(label == 0 for label in s.truth.values()) for s in samples] == [40, 40]
    assert samples[0].truth.keys() != samples[1].truth.keys()  # each seed its own draw
    order = [line["item-id"] for line in samples[0].manifest]
    assert [samples[0].truth[key] for key in order[:200]].count(0) < 40  # shuffled, not the class first
    with pytest.raises(SystemExit, match="need 49,000 and 1,000 rows"):
        make_sample(dataclasses.replace(rare, class_share=0.98), 50_000, seed=0, prelabeled_fraction=0.0)


@pytest.mark.parametrize("size", ["0", "-5", "ten"])
def test_a_bad_size_is_refused_before_anything_is_deployed(size, capsys):
    from local import bench, run

    for main in (run.parse, bench.main):
        with pytest.raises(SystemExit) as exit_info:
            main(["--size", size])
        assert exit_info.value.code == 2  # argparse's usage error, not a traceback
    assert "--size" in capsys.readouterr().err


def test_a_csv_whose_ids_repeat_or_are_missing_keys_its_items_by_row_and_loses_none(tmp_path):
    path = tmp_path / "ids.csv"
    rows = "".join(
        f'{"" if i % 7 == 0 else i % 5},"headline {i}, with ""quotes""\nand a second line",{i % 3}\n' for i in range(60)
    )
    path.write_text("id,text,label\n" + rows, encoding="utf-8")
    sample = make_sample(Dataset(path, "text", "label"), 60, seed=0, prelabeled_fraction=0.2)
    keys = [line[KEY_FIELD] for line in sample.manifest]
    assert len(set(keys)) == 60 and len(sample.truth) == 60  # no two items share a key, every truth kept
    assert all(line.get("id", "") == ("" if int(line[KEY_FIELD]) % 7 == 0 else str(int(line[KEY_FIELD]) % 5))
               for line in sample.manifest)  # the CSV's ids kept beside the keys, as any other column  # fmt: skip
    assert all(
        sample.truth[line[KEY_FIELD]] == int(line["source"].split()[1].rstrip(",")) % 3 for line in sample.manifest
    )
    bundled = make_sample(Dataset.bundled(), 50, seed=0, prelabeled_fraction=0.2)
    assert set(bundled.truth) <= {row["id"] for row in read_rows(Dataset.bundled())}  # unique ids are kept


def test_one_class_is_refused_before_anything_is_deployed(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("text,label\n" + "".join(f"headline {i},news\n" for i in range(20)))
    with pytest.raises(SystemExit, match="one.csv: the rows of 'label' hold one class \\('news'\\); labeling needs 2"):
        make_sample(Dataset(path, "text", "label"), 10, seed=0, prelabeled_fraction=0.2)
    with pytest.raises(SystemExit, match="the rows of 'label' hold one class \\('news'\\)"):  # "not news" has none
        make_sample(Dataset(path, "text", "label", one_vs_rest="news"), 10, seed=0, prelabeled_fraction=0.2)


def test_a_class_name_the_label_config_cannot_carry_is_refused_before_anything_is_deployed(tmp_path):
    path = tmp_path / "classes.csv"
    path.write_text("text,label\n" + "".join(f"headline {i},{'a' if i % 2 else 'x' * 300}\n" for i in range(20)))
    with pytest.raises(
        SystemExit,
        match=r"classes.csv: the classes of 'label' make no label config: \$\.labels\[1\]\.label: .* is too long",
    ):
        make_sample(Dataset(path, "text", "label"), 10, seed=0, prelabeled_fraction=0.2)
