"""Every source kind and file format loads through datasets, with clear errors for bad input."""

import json

import pandas as pd
import pytest
from conftest import DATA

from textclf.data.prepare import load_splits
from textclf.data.sources import load_raw
from textclf.errors import TextclfError

ROWS = [("a fine film", "pos"), ("a dull film", "neg"), ("great acting", "pos"), ("boring plot", "neg")] * 5


def write(path, fmt, rows=ROWS, text="text", label="label"):
    df = pd.DataFrame(rows, columns=[text, label])
    if fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "tsv":
        df.to_csv(path, index=False, sep="\t")
    elif fmt == "jsonl":
        df.to_json(path, orient="records", lines=True, force_ascii=False)
    elif fmt == "json":
        df.to_json(path, orient="records", lines=True)
    elif fmt == "parquet":
        df.to_parquet(path)
    elif fmt == "txt":
        path.write_text("".join(f"__label__{lab} {t}\n" for t, lab in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "parquet", "txt"])
def test_each_file_format_loads_with_detected_columns(tmp_path, fmt):
    f = write(tmp_path / f"d.{fmt}", fmt)
    splits, names = load_splits(str(f), val_fraction=0.2)
    assert names == ["neg", "pos"]
    assert set(splits) == {"train", "validation"}
    assert splits["train"].num_rows + splits["validation"].num_rows == len(ROWS)
    assert set(splits["train"]["text"][:]) <= {t for t, _ in ROWS}


def test_one_file_per_split_with_aliases(tmp_path):
    files = {"train": str(write(tmp_path / "tr.csv", "csv")), "dev": str(write(tmp_path / "dv.csv", "csv", ROWS[:4])),
             "test": str(write(tmp_path / "te.csv", "csv", ROWS[:6]))}
    raw = load_raw(files=files)
    assert set(raw) == {"train", "validation", "test"}
    assert raw["validation"].num_rows == 4 and raw["test"].num_rows == 6


def test_dataset_folder_keeps_classlabel_names():
    splits, names = load_splits(str(DATA / "trec"))
    assert names == ["DESC", "ENTY", "ABBR", "HUM", "LOC", "NUM"]
    assert splits["test"].num_rows == 500
    assert splits["train"].num_rows + splits["validation"].num_rows == 5452  # validation carved from train


def test_explicit_columns_and_joined_text_columns(tmp_path):
    df = pd.DataFrame({"title": ["Stocks up", "Team wins"] * 4, "description": ["markets rally", "late goal"] * 4,
                       "topic": ["biz", "sport"] * 4})
    f = tmp_path / "news.csv"
    df.to_csv(f, index=False)
    splits, names = load_splits(str(f), text_column=["title", "description"], label_column="topic", val_fraction=0.25)
    assert names == ["biz", "sport"]
    assert "Stocks up markets rally" in splits["train"]["text"][:] + splits["validation"]["text"][:]


def test_integer_labels_without_classlabel_sorted(tmp_path):
    f = write(tmp_path / "d.jsonl", "jsonl", [(t, 3 if lab == "pos" else 1) for t, lab in ROWS])
    splits, names = load_splits(str(f))
    assert names == ["1", "3"]
    assert set(splits["train"]["label"]) == {0, 1}


def test_missing_column_lists_the_files_columns(tmp_path):
    f = write(tmp_path / "d.csv", "csv", text="body", label="label")
    with pytest.raises(TextclfError, match=r"no text column.*\['body', 'label'\].*--data.text_column"):
        load_splits(str(f))
    with pytest.raises(TextclfError, match=r"no label column 'stars'; its columns are \['body', 'label'\]"):
        load_splits(str(f), text_column="body", label_column="stars")


def test_ambiguous_columns_are_an_error(tmp_path):
    df = pd.DataFrame({"text": ["a", "b"], "sentence": ["c", "d"], "label": [0, 1]})
    df.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(TextclfError, match="several possible text columns"):
        load_splits(str(tmp_path / "d.csv"))


def test_unseen_label_in_evaluation_split_names_label_and_split(tmp_path):
    files = {"train": str(write(tmp_path / "tr.csv", "csv")),
             "test": str(write(tmp_path / "te.csv", "csv", [("so so", "meh"), ("fine", "pos")]))}
    with pytest.raises(TextclfError, match=r"the test split's labels \[meh, pos\] are not all among the train "
                                           r"split's labels \[neg, pos\] \(unknown: \[meh\]\)"):
        load_splits(files=files)


def test_single_class_is_an_error(tmp_path):
    f = write(tmp_path / "d.csv", "csv", [("a", "pos"), ("b", "pos")])
    with pytest.raises(TextclfError, match="at least two"):
        load_splits(str(f))


def test_empty_texts_dropped_and_all_empty_is_an_error(tmp_path, caplog):
    f = write(tmp_path / "d.csv", "csv", ROWS + [("   ", "pos"), ("", "neg")])
    with caplog.at_level("WARNING"):
        splits, _ = load_splits(str(f), val_fraction=0.2)
    assert splits["train"].num_rows + splits["validation"].num_rows == len(ROWS)
    assert "dropped 2 empty text(s)" in caplog.text
    g = write(tmp_path / "e.csv", "csv", [(" ", "pos"), ("  ", "neg")])
    with pytest.raises(TextclfError, match="every text .* is empty"):
        load_splits(str(g))


def test_empty_file_bad_extension_and_missing_file(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(TextclfError, match="empty.csv is empty"):
        load_raw(str(tmp_path / "empty.csv"))
    (tmp_path / "d.xlsx").write_text("x")
    with pytest.raises(TextclfError, match=r"unsupported file type '.xlsx'; use one of .csv, .tsv"):
        load_raw(str(tmp_path / "d.xlsx"))
    with pytest.raises(TextclfError, match="does not exist"):
        load_raw(str(tmp_path / "nope.csv"))


def test_non_utf8_file_names_file_and_encoding_option(tmp_path):
    f = tmp_path / "latin.csv"
    f.write_bytes("text,label\ncaf\xe9 cr\xe8me,pos\nna\xefve,neg\n".encode("latin-1"))
    with pytest.raises(TextclfError, match=r"latin.csv is not valid UTF-8: set --data.encoding"):
        load_raw(str(f))
    raw = load_raw(str(f), encoding="latin-1")
    assert raw["train"]["text"][0] == "café crème"


def test_fasttext_line_without_label_is_an_error(tmp_path):
    f = tmp_path / "d.txt"
    f.write_text("__label__pos good\njust text\n", encoding="utf-8")
    with pytest.raises(TextclfError, match=r"line 2 does not start with __label__"):
        load_raw(str(f))


def test_hub_id_offline_says_hub_unreachable_and_local_path_works(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(TextclfError, match=r"could not reach the Hugging Face Hub .*stanfordnlp/imdb.*local"):
        load_raw("stanfordnlp/imdb")


def test_jsonl_with_chinese_text(tmp_path):
    f = tmp_path / "zh.jsonl"
    f.write_text("".join(json.dumps({"review": t, "sentiment": s}, ensure_ascii=False) + "\n"
                         for t, s in [("很好的酒店", "正面"), ("太差了", "负面")] * 5), encoding="utf-8")
    splits, names = load_splits(str(f), val_fraction=0.2)
    assert names == sorted(["正面", "负面"])
