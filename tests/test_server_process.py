"""``zeroclass serve`` as a real process on 127.0.0.1: SIGTERM drains, HF clients work unchanged."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from servers import free_port, wait_until_ready

pytestmark = pytest.mark.slow  # each test starts a Python process that imports torch


#: ``zeroclass ...`` run by this interpreter, whether or not the console script is on PATH.
ZEROCLASS = [sys.executable, "-c", "import sys; from zeroclass.cli import main; sys.exit(main())"]


@contextmanager
def serve(model: Path, *options: str, env: dict[str, str] | None = None) -> Iterator[tuple[subprocess.Popen, str]]:
    """Run ``zeroclass serve`` on a free loopback port until ready; yields the process and its URL."""
    port = free_port()
    command = [*ZEROCLASS, "serve", "--model", str(model), "--port", str(port), *options]
    process = subprocess.Popen(
        command, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # Importing torch takes a minute on a busy 2-core machine.
        wait_until_ready(url, lambda: None if process.poll() is None else f"server exited early:\n{process.stdout.read()}", 180)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        process.stdout.close()


def test_sigterm_finishes_in_flight_request_refuses_new_ones_and_exits_0(tiny_nli_dir, tiny_classifier):
    # A 3 s batching window keeps the request in flight while the signal arrives.
    with serve(tiny_nli_dir, "--max-wait-ms", "3000") as (process, url):
        body = {"text": "the world is big", "candidate_labels": ["travel", "home"]}
        answer: dict[str, httpx.Response] = {}
        sender = threading.Thread(target=lambda: answer.update(r=httpx.post(f"{url}/v1/classify", json=body, timeout=30)))
        sender.start()
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz", timeout=2)
        sender.join(30)
        assert process.wait(30) == 0
        log = process.stdout.read()
    response = answer["r"]
    assert response.status_code == 200, log
    assert response.json()["results"][0]["scores"] == pytest.approx(
        tiny_classifier("the world is big", ["travel", "home"])["scores"], abs=1e-5
    )


def test_huggingface_inference_client_works_by_changing_the_url(tiny_nli_dir, tiny_classifier, monkeypatch):
    from huggingface_hub import InferenceClient, constants
    from huggingface_hub.errors import HfHubHTTPError

    # The suite runs with HF_HUB_OFFLINE=1, which blocks every request the client makes,
    # loopback included; this test talks to 127.0.0.1 only.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)

    env = {"ZC_TEST_KEY": "k3y"}
    with serve(tiny_nli_dir, "--api-key-env", "ZC_TEST_KEY", env=env) as (_, url):
        client = InferenceClient(model=f"{url}/hf-inference/models/facebook/bart-large-mnli", token="k3y")
        text, labels = "a new phone with a great camera", ["technology", "travel", "food"]
        output = client.zero_shot_classification(text, labels, multi_label=True, hypothesis_template="It is about {}.")
        expected = tiny_classifier(text, labels, multi_label=True, hypothesis_template="It is about {}.")
        assert [o.label for o in output] == expected["labels"]
        assert [o.score for o in output] == pytest.approx(expected["scores"], abs=1e-5)
        with pytest.raises(HfHubHTTPError, match="duplicate label"):
            client.zero_shot_classification(text, ["food", "food"])
        with pytest.raises(HfHubHTTPError, match="wrong API key"):
            InferenceClient(model=f"{url}/hf-inference/models/x", token="bad").zero_shot_classification(text, labels)


def test_missing_api_key_variable_fails_before_loading(tiny_nli_dir):
    result = subprocess.run(
        [*ZEROCLASS, "serve", "--model", str(tiny_nli_dir), "--api-key-env", "ZC_UNSET_VAR"],
        capture_output=True, text=True, env={k: v for k, v in os.environ.items() if k != "ZC_UNSET_VAR"}, timeout=60,
    )
    assert result.returncode == 2
    assert "--api-key-env ZC_UNSET_VAR: that environment variable is unset or empty" in result.stderr


def test_bad_timeout_fails_before_loading(tiny_nli_dir):
    result = subprocess.run(
        [*ZEROCLASS, "serve", "--model", str(tiny_nli_dir), "--body-timeout", "0"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "argument --body-timeout: expected a number above 0, got 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_timeout_flags_reach_the_server(tiny_nli_dir):
    with serve(tiny_nli_dir, "--header-timeout", "1", "--body-timeout", "1") as (_, url):
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as idle, \
                socket.create_connection((host, int(port)), timeout=10) as half_body:
            half_body.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n\r\n{")
            start = time.monotonic()
            assert idle.recv(1024) == b""  # closed, not answered: it never sent a byte
            answer = b""
            while chunk := half_body.recv(4096):  # until the server closes it (10 s socket timeout)
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 408") and b"body_timeout_s" in answer
            assert time.monotonic() - start < 8


def test_sigterm_under_load_answers_every_client_in_json_and_exits_0(tiny_nli_dir):
    """Found from outside: with requests in the model when SIGTERM came, the process ended in
    'terminate called without an active exception' (exit 134), its scoring thread still inside torch."""
    words = "the match rain market storm team bank vote film song trip "
    body = {"texts": [(f"{i} " + words * 30)[:240] for i in range(64)], "candidate_labels": [f"label {i}" for i in range(64)]}
    with serve(tiny_nli_dir, "--shutdown-timeout", "2") as (process, url):
        answers: list[httpx.Response | Exception] = []

        def client() -> None:
            try:
                answers.append(httpx.post(f"{url}/v1/classify", json=body, timeout=120))
            except httpx.HTTPError as exc:
                answers.append(exc)

        clients = [threading.Thread(target=client) for _ in range(6)]
        for c in clients:
            c.start()
        deadline = time.monotonic() + 60
        while "zeroclass_queue_depth 0.0" in httpx.get(f"{url}/metrics", timeout=5).text:  # until requests wait
            assert time.monotonic() < deadline, "the requests never queued"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        for c in clients:
            c.join(120)
        code = process.wait(120)
        log = process.stdout.read()
    assert code == 0, log[-2000:]
    assert "terminate called" not in log
    assert len(answers) == 6
    for answer in answers:
        assert isinstance(answer, httpx.Response), answer
        assert answer.headers["content-type"].startswith("application/json"), answer.text[:200]
        assert answer.status_code == 200 or (answer.status_code == 503 and answer.headers["retry-after"]), answer.text[:200]
