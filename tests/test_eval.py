"""zeroclass eval / zeroclass.evaluate: formats agree, files are written, bad input is named."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

import zeroclass
from zeroclass import InputError
from zeroclass.cli import main
from zeroclass.evaluation import evaluate, load_labelled
from zeroclass.evaluation.plots import CJK_FONT_HINT, cjk_font, plot_confusion

ROWS = [
    {"text": "The team won the final match 3-1", "label": "sports"},
    {"text": "Shares fell after the quarterly results", "label": "finance"},
    {"text": "Heavy rain is expected tomorrow", "label": "weather"},
    {"text": "The striker scored twice", "label": "sports"},
    {"text": "The central bank raised interest rates", "label": "finance"},
    {"text": "A sunny and warm weekend ahead", "label": "weather"},
]


def write(tmp_path, name, rows):
    path = tmp_path / name
    if name.endswith(".csv"):
        keys = list(rows[0])
        lines = [",".join(keys)] + [",".join(json.dumps(r[k]) if "," in str(r[k]) else str(r[k]) for k in keys) for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_csv_jsonl_and_parquet_give_the_same_report(tmp_path, tiny_classifier):
    reports = [
        evaluate(write(tmp_path, name, ROWS), classifier=tiny_classifier, progress=False)
        for name in ("d.csv", "d.jsonl", "d.parquet")
    ]
    first = reports[0]
    assert first.config["labels"] == ["finance", "sports", "weather"]  # from the data, sorted
    assert first.config["rows"] == 6
    for other in reports[1:]:
        assert other.summary == first.summary
        assert other.errors == first.errors
        assert (other.confusion == first.confusion).all()


def test_report_files_are_written_and_the_pngs_open(tmp_path, tiny_classifier):
    report = zeroclass.evaluate(write(tmp_path, "d.jsonl", ROWS), classifier=tiny_classifier, progress=False)
    written = report.write(tmp_path / "out")
    names = {p.name for p in written}
    assert names == {"report.json", "report.md", "errors.jsonl", "confusion.png", "reliability.png"}
    for png in ("confusion.png", "reliability.png"):
        with Image.open(tmp_path / "out" / png) as image:
            image.verify()
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["summary"]["accuracy"] == report.summary["accuracy"]
    assert sum(map(sum, saved["confusion"]["matrix"])) == 6
    errors = [json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_text().splitlines()]
    assert len(errors) == round((1 - report.summary["accuracy"]) * 6)
    assert all(e["gold"] != e["predicted"] and 1 <= e["row"] <= 6 for e in errors)
    assert [e["score"] for e in errors] == sorted((e["score"] for e in errors), reverse=True)
    assert "| accuracy |" in (tmp_path / "out" / "report.md").read_text()
    html = report._repr_html_()
    assert html.count("<img") == 2 and "accuracy" in html


def test_multi_label_from_separated_strings_writes_the_threshold_plot(tmp_path, tiny_classifier):
    rows = [
        {"text": "Great food, dirty room", "tags": "food; hotel"},
        {"text": "The flight was late", "tags": "travel"},
        {"text": "Nothing to say", "tags": ""},
        {"text": "Lovely beach hotel", "tags": "hotel,travel"},
    ]
    report = evaluate(
        write(tmp_path, "m.csv", rows), classifier=tiny_classifier, label_column="tags",
        labels=["food", "hotel", "travel"], multi_label=True, progress=False,
    )
    assert {row["threshold"] for row in report.thresholds} >= {0.05, 0.5, 0.95}
    assert report.summary["best_threshold"] in {row["threshold"] for row in report.thresholds}
    assert {s.label: s.support for s in report.per_label} == {"food": 1, "hotel": 2, "travel": 2}
    names = {p.name for p in report.write(tmp_path / "out")}
    assert "thresholds.png" in names and "confusion.png" not in names


def test_limit_takes_the_same_seeded_sample_every_time(tmp_path, tiny_classifier):
    path = write(tmp_path, "d.jsonl", ROWS)
    a = evaluate(path, classifier=tiny_classifier, limit=4, progress=False)
    b = evaluate(path, classifier=tiny_classifier, limit=4, progress=False)
    assert a.config["rows"] == 4 and a.summary == b.summary and a.errors == b.errors


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        (ROWS, {"text_column": "body"}, "no column 'body'"),
        (ROWS, {"labels": ["sports", "finance"]}, "row 3, column 'label': gold label 'weather' is not among"),
        (ROWS[:2] + [{"text": "  ", "label": "sports"}], {}, "row 3, column 'text'"),
        ([{"text": "a", "label": ["x", "y"]}, {"text": "b", "label": ["y"]}], {}, "row 1, column 'label': single-label"),
    ],
)
def test_bad_input_names_the_row_or_column(tmp_path, tiny_classifier, rows, kwargs, message):
    with pytest.raises(InputError, match=message):
        evaluate(write(tmp_path, "bad.jsonl", rows), classifier=tiny_classifier, progress=False, **kwargs)


def test_empty_file_is_an_error(tmp_path, tiny_classifier):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        evaluate(tmp_path / "empty.csv", classifier=tiny_classifier, progress=False)


def test_cli_eval_writes_the_report(tmp_path, tiny_nli_dir, capsys):
    path = write(tmp_path, "d.csv", ROWS)
    out = tmp_path / "out"
    code = main(["eval", str(path), "--model", str(tiny_nli_dir), "--device", "cpu", "--out", str(out), "--json",
                 "--template", "This text is about {}.", "--template", "{}"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["config"]["templates"] == ["This text is about {}.", "{}"]
    assert (out / "report.json").is_file() and (out / "confusion.png").is_file()


def test_cli_eval_reports_a_missing_column_before_loading_a_model(tmp_path, capsys):
    path = write(tmp_path, "d.csv", ROWS)
    assert main(["eval", str(path), "--label-column", "gold", "--model", str(tmp_path / "no-such-model")]) == 2
    assert "no column 'gold'" in capsys.readouterr().err


def test_confusion_plot_with_77_chinese_labels(tmp_path):
    import numpy as np

    labels = [f"标签{i}" for i in range(77)]
    warning = plot_confusion(labels, np.eye(77, dtype=int), tmp_path / "c.png")
    # With a CJK font installed it is used; without one the plot says how to get one.
    assert warning == (None if cjk_font() else CJK_FONT_HINT)
    with Image.open(tmp_path / "c.png") as image:
        assert image.width >= 2000  # about 0.22 inch per label at 110 dpi


def test_classification_result_shows_as_bars_in_jupyter():
    from zeroclass import ClassificationResult

    html = ClassificationResult(sequence="<b>bold</b>", labels=["a", "b"], scores=[0.75, 0.25])._repr_html_()
    assert "&lt;b&gt;bold" in html and "<b>" not in html
    assert html.index("width:75.0%") < html.index("width:25.0%")


def test_cells_are_read_as_text_as_batch_reads_them(tmp_path, tiny_classifier):
    """Gold labels 007 and 010 stay themselves; true/false labels and numeric texts are texts (issue 11)."""
    codes = write(tmp_path, "codes.csv", [{"text": t, "label": g} for t, g in [("a", "007"), ("b", "010"), ("c", "007")]])
    data = load_labelled(codes, labels="007,010")
    assert data.labels == ["007", "010"] and data.gold == [["007"], ["010"], ["007"]]
    assert load_labelled(codes).labels == ["007", "010"]
    flags = write(tmp_path, "flags.csv", [{"text": "42", "label": "true"}, {"text": "3.5", "label": "false"}])
    data = load_labelled(flags)
    assert data.texts == ["42", "3.5"] and data.labels == ["false", "true"]
    typed = write(tmp_path, "typed.jsonl", [{"text": 42, "label": True}, {"text": "b", "label": False}])
    assert load_labelled(typed).texts == ["42", "b"] and load_labelled(typed).labels == ["false", "true"]
    report = evaluate(flags, classifier=tiny_classifier, progress=False)
    assert report.config["rows"] == 2


def test_rich_markup_in_labels_prints_as_written(tmp_path, tiny_classifier):
    from rich.console import Console

    rows = [{"text": "one", "label": "see [/bold] now"}, {"text": "two", "label": "[red]"}, {"text": "3", "label": "[b]"}]
    report = evaluate(write(tmp_path, "m.jsonl", rows), classifier=tiny_classifier, progress=False)
    console = Console(record=True, width=200)
    report.print(console)
    shown = console.export_text()
    assert "see [/bold] now" in shown and "[red]" in shown and "[b]" in shown


def test_progress_off_a_terminal_ends_its_line(tiny_classifier, capsys):
    """Issue 22, item 16: the bar's last state was left without a newline, gluing the report's title to it."""
    from zeroclass.evaluation.run import _score

    _score(tiny_classifier, [("a text", "This example is a."), ("another", "This example is b.")], progress=True)
    err = capsys.readouterr().err
    assert "scoring" in err and err.endswith("\n")


def test_the_report_names_the_templates_the_texts_were_read_with(offline_classifier):
    """Issue 22, item 15: a Chinese evaluation with the offline default listed the English templates."""
    from zeroclass import evaluate
    from zeroclass.backends.use import USE_TEMPLATES

    rows = [{"text": "国足在世界杯预选赛中两球取胜", "label": "体育"}, {"text": "股市今天下跌了很多", "label": "财经"}]
    report = evaluate(rows, classifier=offline_classifier, progress=False)
    assert report.config["templates"] == list(USE_TEMPLATES["zh"])
