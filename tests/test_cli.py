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


def test_offline_default_and_chinese_notice():
    out = run_cli("classify", "Messi scored a goal in the final", "--labels", "sports,finance,weather", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["labels"][0] == "sports"
    assert "offline default" in out.stderr
    out = run_cli("classify", "世界那么大，我想去看看", "--labels", "家居,旅游,科技")
    assert out.returncode == 2
    assert "damo/nlp_structbert_zero-shot-classification_chinese-base" in out.stderr


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
