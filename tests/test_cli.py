from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from zeroclass.cli import main


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "zeroclass", *args], input=stdin, capture_output=True, text=True, env=env, timeout=300
    )


def test_text_argument_prints_a_table_with_the_model(tiny_nli_dir):
    out = run_cli("classify", "The team won the match", "--labels", "sports,finance", "--model", str(tiny_nli_dir))
    assert out.returncode == 0, out.stderr
    assert "sports" in out.stdout and "finance" in out.stdout and "model:" in out.stdout


def test_stdin_json_output_parses_and_matches_python_api(tiny_nli_dir, tiny_classifier):
    out = run_cli(
        "classify", "--labels", "家居,旅游,科技", "--multi-label", "--json", "--model", str(tiny_nli_dir),
        stdin="世界那么大，我想去看看\n\nhello world\n",
    )
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["sequence"] for r in lines] == ["世界那么大，我想去看看", "hello world"]
    expected = tiny_classifier(["世界那么大，我想去看看", "hello world"], "家居,旅游,科技", multi_label=True)
    for got, want in zip(lines, expected):
        assert got["labels"] == want["labels"]
        assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)


def test_explain_json(tiny_nli_dir):
    out = run_cli("classify", "x y z", "-l", "a,b", "--explain", "--json", "-m", str(tiny_nli_dir), "--template", "It is {}.")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert [e["hypothesis"] for e in result["explanation"]] == [f"It is {label}." for label in result["labels"]]


def test_offline_default_answers_english_and_the_chinese_seed_example():
    out = run_cli("classify", "Messi scored a goal in the final", "--labels", "sports,finance,weather", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["labels"][0] == "sports"
    assert "offline default" in out.stderr
    out = run_cli("classify", "世界那么大，我想去看看", "--labels", "家居,旅游,科技", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["labels"][0] == "旅游"
    assert result["model"] == "google/universal-sentence-encoder-multilingual-3"


def test_errors_exit_2_with_a_message(tiny_nli_dir, capsys):
    assert main(["classify", "text", "--labels", "a,a", "--model", str(tiny_nli_dir)]) == 2
    assert "duplicate label 'a'" in capsys.readouterr().err
    assert main(["classify", "text", "--labels", "a", "--model", "nobody/missing"]) == 2
    assert "zeroclass download nobody/missing" in capsys.readouterr().err


def test_models_lists_the_bundled_default(capsys):
    assert main(["models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert any(m["hub"] == "bundled" and m["kind"] == "embedding" for m in listed)


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "classify" in capsys.readouterr().out


def test_rich_markup_in_texts_and_labels_prints_as_written(tiny_nli_dir, capsys):
    code = main(["classify", "see [/bold] now", "--labels", "[red],[b],plain", "--model", str(tiny_nli_dir), "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    assert "see [/bold] now" in out and "[red]" in out and "[b]" in out


def test_invalid_utf8_on_stdin_or_in_an_argument_is_a_clear_error(tiny_nli_dir):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LC_ALL": "C"}  # a C locale used to pass lone surrogates on
    out = subprocess.run(
        [sys.executable, "-m", "zeroclass", "classify", "--labels", "a,b", "--model", str(tiny_nli_dir)],
        input=b"fine\ncaf\xe9 au lait\n", capture_output=True, env=env, timeout=300,
    )
    err = out.stderr.decode("utf-8", "replace")
    assert out.returncode == 2 and "Traceback" not in err
    assert "standard input, line 2: not valid UTF-8 (byte 0xe9" in err
    bad_argument = subprocess.run(
        [sys.executable, "-m", "zeroclass", "classify", b"caf\xe9", "--labels", "a,b", "--model", str(tiny_nli_dir)],
        capture_output=True, env=env, timeout=300,
    )
    assert bad_argument.returncode == 2 and b"TEXT argument 1 is not valid UTF-8" in bad_argument.stderr


# --- A newcomer's first hour: mistakes cost one line, not a traceback --------------------------------------------


@pytest.mark.parametrize(
    "args,expected",
    [
        (["classify", "x", "-l", "a,b", "--threads", "0"], "argument --threads: expected a whole number from 1 to 4096, got 0"),
        (["classify", "x", "-l", "a,b", "--max-length", "-5"], "argument --max-length: expected a whole number"),
        (["classify", "x", "-l", "a,b", "--device", "gpu"], "unknown device 'gpu'"),
        (["classify", "x", "--labls", "a,b"], "unrecognized option --labls; did you mean --labels?"),
        (["classify", "x", "-l", "a,b", "--multilabel"], "did you mean --multi-label?"),
        (["batch", "in.csv", "-o", "out.csv", "-l", "a", "--chunkrows", "5"], "did you mean --chunk-rows?"),
        (["batch", "in.csv", "-o", "out.csv", "-l", "a", "--chunk-rows", "0"], "argument --chunk-rows"),
        (["serve", "--port", "70000"], "argument --port: expected a port number"),
        (["eval", "data.csv", "--limit", "0"], "argument --limit"),
        (["clasify", "x"], "did you mean classify?"),
    ],
)
def test_bad_options_are_one_line_errors_with_exit_2(args, expected, capsys):
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_cuda_device_on_a_cpu_build_is_refused_before_loading(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SystemExit) as stop:
        main(["classify", "x", "-l", "a,b", "--device", "cuda", "--model", "/nonexistent"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "argument --device: cuda:" in err and err.count("\n") == 1


def test_template_repeats_into_an_ensemble_in_classify(tiny_nli_dir, tiny_classifier):
    templates = ["This text is about {}.", "It is {}."]
    out = run_cli(
        "classify", "The team won the match", "-l", "sports,finance", "--json", "-m", str(tiny_nli_dir),
        "--template", templates[0], "--template", templates[1],
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    want = tiny_classifier("The team won the match", "sports,finance", hypothesis_template=templates)
    assert got["labels"] == want["labels"]
    assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)
    single = tiny_classifier("The team won the match", "sports,finance", hypothesis_template=templates[0])
    assert got["scores"] != pytest.approx(single["scores"], abs=1e-5)  # the second template counted


def test_template_repeats_into_an_ensemble_in_serve(tiny_nli_dir):
    from zeroclass.cli import build_parser
    from zeroclass.cli.common import load_classifier

    args = build_parser().parse_args(["serve", "-m", str(tiny_nli_dir), "--template", "A {}.", "--template", "B {}."])
    assert load_classifier(args).templates() == ("A {}.", "B {}.")


def test_template_repeats_into_an_ensemble_in_batch(tiny_nli_dir, tiny_classifier, tmp_path):
    texts = ["The team won the match", "Stocks fell", "rain all day"]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    templates = ["This text is about {}.", "It is {}."]
    assert main([
        "batch", str(source), "-o", str(tmp_path / "out.jsonl"), "-l", "sports,finance,weather", "-m", str(tiny_nli_dir),
        "--template", templates[0], "--template", templates[1], "--no-progress",
    ]) == 0
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    want = tiny_classifier(texts, "sports,finance,weather", hypothesis_template=templates)
    for row, result in zip(rows, want):
        assert row["predicted_label"] == result["labels"][0]
        assert row["predicted_score"] == pytest.approx(result["scores"][0], abs=1e-5)


def test_batch_of_standard_input_says_it_needs_a_file(tmp_path, capsys):
    assert main(["batch", "-", "-o", str(tmp_path / "out.csv"), "-l", "a,b"]) == 2
    err = capsys.readouterr().err
    assert "needs a file, not standard input" in err and "zeroclass classify" in err


@pytest.mark.slow
def test_ctrl_c_in_a_batch_job_reports_committed_rows_and_resumes(tiny_nli_dir, tmp_path):
    import signal
    import time

    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("text\n" + "".join(f"row number {i} about sports and rain\n" for i in range(3000)), encoding="utf-8")
    command = [sys.executable, "-m", "zeroclass", "batch", str(source), "-o", str(target), "-l", "sports,weather",
               "-m", str(tiny_nli_dir), "--chunk-rows", "10", "--no-progress"]
    # Ctrl-C's SIGINT, default-handled in the job even when this test runs in a background job that ignores it.
    job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "HF_HUB_OFFLINE": "1"},
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    manifest = tmp_path / "out.csv.partial" / "manifest.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and job.poll() is None:
        if manifest.exists() and json.loads(manifest.read_text() or "{}").get("rows", 0) > 0:
            break
        time.sleep(0.2)
    assert job.poll() is None, "the job ended before it could be interrupted"
    job.send_signal(signal.SIGINT)
    _, err = job.communicate(timeout=120)
    assert job.returncode == 130, err
    committed = json.loads(manifest.read_text())["rows"]
    assert f"{committed:,} rows are committed" in err and "run the same command again to resume" in err
    assert "Traceback" not in err
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert f"{committed:,} rows were done by an earlier run" in done.stdout


def test_download_and_models_options_have_help(capsys):
    import argparse

    from zeroclass.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for command in ("download", "models"):
        options = [a for a in commands[command]._actions if a.option_strings and a.dest != "help"]
        assert options and all(a.help for a in options), command
        with pytest.raises(SystemExit):
            main([command, "--help"])
        shown = " ".join(capsys.readouterr().out.split())  # unwrapped
        assert all(" ".join(a.help.split()) in shown for a in options)


def test_confusion_matrix_scales_with_the_label_count(tmp_path):
    import numpy as np

    from zeroclass.evaluation.plots import confusion_layout, plot_confusion

    few = [f"label {i}" for i in range(5)]
    many = [f"a rather long intent name number {i}" for i in range(77)]
    small, big = confusion_layout(few), confusion_layout(many)
    assert big["width"] > 2 * small["width"] and big["height"] > 2 * small["height"]
    row_points = (big["height"] * 72) / 77
    assert big["tick"] >= 6 and row_points >= 1.5 * big["tick"]  # each name fits its row
    plot_confusion(many, np.eye(77, dtype=int) * 3, tmp_path / "cm.png")
    from PIL import Image

    assert Image.open(tmp_path / "cm.png").size[1] >= 77 * 20  # at least 20 pixels per row


# -- issue 22, item 9: one line and exit 2, never a traceback -------------------------


def _one_line_exit_2(capsys, argv: list[str], names: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert names in err and "Traceback" not in err, err[-500:]


def test_absurd_thread_count_is_one_line(tiny_nli_dir, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["classify", "hi", "--labels", "a,b", "--model", str(tiny_nli_dir), "--threads", "99999999999999999999"])
    assert exit_.value.code == 2 and "from 1 to 4096" in capsys.readouterr().err


@pytest.mark.parametrize("length", [300, 5000])
def test_a_model_name_too_long_for_the_file_system_is_one_line(capsys, length):
    _one_line_exit_2(capsys, ["classify", "hi", "--labels", "a,b", "--model", "x" * length], "not a folder this system can name")


@pytest.mark.parametrize("templates", ["missing", 5, [], [""], [3]])
def test_an_adapter_file_with_bad_templates_is_one_line(tiny_nli_dir, tmp_path, capsys, templates):
    import shutil

    from zeroclass.backends.adapted import ADAPTER_FILE, FORMAT

    folder = tmp_path / "adapted"
    shutil.copytree(tiny_nli_dir, folder)
    config = {"format": FORMAT, "method": "prototypes"} | ({} if templates == "missing" else {"templates": templates})
    (folder / ADAPTER_FILE).write_text(json.dumps(config))
    _one_line_exit_2(capsys, ["classify", "hi", "--labels", "a,b", "--model", str(folder)], "'templates' must be a non-empty list")


def test_download_of_a_local_folder_is_refused(tiny_nli_dir, capsys):
    _one_line_exit_2(capsys, ["download", str(tiny_nli_dir)], "is a local folder")


# -- issue 22, item 14: explain shows hypotheses, whole, at 80 columns -------------------


def test_explain_table_fits_80_columns_with_its_hypotheses(tiny_nli_dir):
    result = subprocess.run(
        [sys.executable, "-m", "zeroclass", "classify", "The world is so big, I want to see it", "--labels",
         "home,travel,technology", "--explain", "--model", str(tiny_nli_dir),
         "--template", "This example is {}.", "--template", "The topic is {}."],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"}, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if "label" in line and "score" in line)
    for column in ("hypothesis", "entail.", "neutral", "contra."):
        assert column in header
    words = result.stdout.split()  # the hypothesis column folds its sentences across lines
    assert {"example", "(+1", "template,", "averaged)"} <= set(words)


def test_explain_lists_every_hypothesis_of_an_ensemble(tiny_classifier):
    templates = ["This example is {}.", "The topic is {}."]
    result = tiny_classifier("the match was won", ["sports", "rain"], hypothesis_template=templates, explain=True)
    for row in result["explanation"]:
        assert row["hypotheses"] == [t.format(row["label"]) for t in templates]
        assert row["hypothesis"] == row["hypotheses"][0]
    single = tiny_classifier("the match was won", ["sports", "rain"], explain=True)
    assert all("hypotheses" not in row for row in single["explanation"])


def test_models_and_download_help_say_what_they_do():
    for command, words in (("models", "without a network"), ("download", "need no network")):
        result = run_cli(command, "--help")
        assert result.returncode == 0 and words in result.stdout


def test_a_gpu_asked_of_a_cpu_build_is_answered_in_pythons_words(tiny_nli_dir):
    import torch

    from zeroclass import InputError, pipeline

    if torch.version.cuda is not None:
        pytest.skip("a CUDA build of PyTorch")
    with pytest.raises(InputError, match="device='cpu'"):
        pipeline("zero-shot-classification", model=str(tiny_nli_dir), device="gpu")


def test_models_lists_both_bundled_models_whole_at_80_columns():
    listed = json.loads(run_cli("models", "--json").stdout)
    bundled = {m["model_id"] for m in listed if m["hub"] == "bundled"}
    assert bundled == {"sentence-transformers/all-MiniLM-L6-v2", "google/universal-sentence-encoder-multilingual-3"}
    table = subprocess.run([sys.executable, "-m", "zeroclass", "models"], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "80"}, timeout=120).stdout
    assert max(len(line) for line in table.splitlines()) <= 80
    cells = "".join(line.split("│")[1].strip() for line in table.splitlines() if line.startswith("│"))
    assert "google/universal-sentence-encoder-multilingual-3" in cells  # folded, never cut with an ellipsis


def test_shortlist_model_is_offered_only_where_there_is_a_shortlist():
    for command in ("classify", "batch", "serve"):
        assert "--shortlist-model" in run_cli(command, "--help").stdout
    for command in ("eval", "adapt"):
        assert "--shortlist-model" not in run_cli(command, "--help").stdout
