"""The service against hostile and careless clients: never a 5xx, a hang, or unbounded memory.

Bodies and headers that break parsers, templates that try to make huge
hypotheses, made-up HTTP methods, non-Latin-1 names and keys go through the
ASGI app; slow and vanishing clients need a real server, so they get uvicorn
on 127.0.0.1 in a thread, with the connection options ``zeroclass serve``
uses. Every loop here is bounded and every test stops by itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import uvicorn
from servers import free_port, wait_until_ready
from fastapi.testclient import TestClient

from zeroclass import ZeroShotClassifier
from zeroclass.server import ServerSettings, create_app
from zeroclass.server.connections import uvicorn_options

TEXT = "the world is big and i want to go and see it"
LABELS = ["travel", "home", "technology"]
HF = "/hf-inference/models/some/model"
#: Largest error body any hostile request may get back, in bytes.
MAX_ERROR_BYTES = 4096


def wait_ready(client: TestClient) -> None:
    deadline = time.monotonic() + 30
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "server never became ready"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def client(tiny_classifier):
    with TestClient(create_app(tiny_classifier, ServerSettings(max_wait_ms=0)), raise_server_exceptions=False) as c:
        wait_ready(c)
        yield c


def both_routes(text: Any = TEXT, labels: Any = None, template: Any = None) -> list[tuple[str, dict[str, Any]]]:
    """The same request for /v1/classify and the Hugging Face route."""
    labels = LABELS if labels is None else labels
    classify: dict[str, Any] = {"text": text, "candidate_labels": labels}
    params: dict[str, Any] = {"candidate_labels": labels}
    if template is not None:
        classify["hypothesis_template"] = params["hypothesis_template"] = template
    return [("/v1/classify", classify), (HF, {"inputs": text, "parameters": params})]


def assert_refused(response: httpx.Response, status: int, names: str) -> None:
    assert response.status_code == status, response.text[:500]
    assert len(response.content) <= MAX_ERROR_BYTES, f"error body of {len(response.content)} bytes"
    assert names in response.json()["error"], response.json()["error"]


# -- templates, texts, labels --------------------------------------------------


@pytest.mark.parametrize("template", ["{:d}", "{:{}}", "{0:{0}}", "{:>99999999999}", "{!r}", "{:.>5000000}", "{0.__class__}"])
def test_template_with_format_spec_conversion_or_field_is_422_on_both_routes(client, template):
    for path, body in both_routes(template=template):
        assert_refused(client.post(path, json=body), 422, "a bare {} with no name, conversion (!r) or format spec")


def test_the_worst_template_costs_no_memory(client):
    """The 90-byte request that took gigabytes: refused before any hypothesis is built."""
    body = {"text": "hi", "candidate_labels": [f"l{i}" for i in range(64)], "hypothesis_template": "{:.>5000000}"}
    client.post("/v1/classify", json=body)  # warm any lazy imports of the error path
    tracemalloc.start()
    try:
        response = client.post("/v1/classify", json=body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_refused(response, 422, "format spec")
    assert peak < 5 * 2**20, f"peak {peak / 2**20:.1f} MiB while refusing it"


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (b'{"text": "\\ud800", "candidate_labels": ["a"]}', "the text has a lone surrogate U+D800 at character 0"),
        (b'{"texts": ["ok", "x\\udfff"], "candidate_labels": ["a"]}', "text 1 has a lone surrogate U+DFFF"),
        (b'{"text": "a", "candidate_labels": ["b", "\\ud800"]}', "label 1 has a lone surrogate"),
        (b'{"text": "\xed\xa0\x80", "candidate_labels": ["a"]}', "the text has a lone surrogate U+D800"),
        (b'{"text": "a", "candidate_labels": ["b", "\xed\xb2\x80"]}', "label 1 has a lone surrogate"),
        (b'{"inputs": "\\ud800", "parameters": {"candidate_labels": ["a"]}}', "the text has a lone surrogate"),
        (b'{"inputs": "a", "parameters": {"candidate_labels": "\\udc00,b"}}', "label 0 has a lone surrogate"),
        (b'{"text": "a", "candidate_labels": ["b"], "hypothesis_template": "{} \\ud800"}', "hypothesis_template has a lone"),
        (b'{"text": "a", "candidate_labels": ["b"], "\\ud800": 1}', "Input should be a valid string"),
    ],
)
def test_lone_surrogates_escaped_or_raw_are_422_naming_where(client, raw, names):
    path = HF if b"inputs" in raw else "/v1/classify"
    assert_refused(client.post(path, content=raw, headers={"content-type": "application/json"}), 422, names)


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (b'{"text": "\xff", "candidate_labels": ["a"]}', "body is not valid UTF-8"),
        (b'{"text": "caf\xc3", "candidate_labels": ["a"]}', "body is not valid UTF-8 (byte 13"),
        (b"[" * 100_000 + b"]" * 100_000, "nests arrays or objects too deeply"),
        (b'{"text": "a", "candidate_labels": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "too deeply"),
        (b'{"text": "a", "candidate_labels": ["a"], "multi_label": ' + b"9" * 5000 + b"}", "could not be parsed as JSON"),
    ],
)
def test_unparsable_bodies_are_422_as_documented(client, raw, names):
    for path in ("/v1/classify", HF):
        assert_refused(client.post(path, content=raw, headers={"content-type": "application/json"}), 422, names)


def test_error_bodies_stay_small_whatever_is_sent(client):
    huge = "x" * 500_000
    cases = [
        ("/v1/classify", {"text": "a", "candidate_labels": [huge]}, "over MAX_LABEL_CHARS"),
        ("/v1/classify", {"text": "a", "candidate_labels": ["a"], "hypothesis_template": huge}, "over MAX_TEMPLATE_CHARS"),
        ("/v1/classify", {"text": "a", "candidate_labels": ["a"], huge: 1}, "Extra inputs are not permitted"),
        ("/v1/classify", {"texts": list(range(50_000)), "candidate_labels": ["a"]}, "(and 49997 more)"),
        (HF, {"inputs": [huge], "parameters": {"candidate_labels": ["a", "a"]}}, "max_text_chars=20000"),  # caps first
        (HF, {"inputs": [huge[:20_000]], "parameters": {"candidate_labels": ["a", "a"]}}, "duplicate label"),
    ]
    for path, body, names in cases:
        assert_refused(client.post(path, json=body), 422, names)


@pytest.mark.parametrize("blank", ["\x00", "\u200b\u200b", "\x00\ufeff\u2060", "\u3000\u2028"])
def test_invisible_texts_and_labels_are_empty_and_zero_width_twins_duplicates(client, blank):
    for path, body in both_routes(text=blank):
        assert_refused(client.post(path, json=body), 422, "the text is empty")
    for path, body in both_routes(labels=["a", blank]):
        assert_refused(client.post(path, json=body), 422, "label 1 is empty")
    for path, body in both_routes(labels=["a", "b", "a" + blank]):
        assert_refused(client.post(path, json=body), 422, "duplicate label")


# -- /metrics ----------------------------------------------------------------------


def test_made_up_methods_and_paths_do_not_grow_metrics(tiny_classifier):
    def hostile_round(first: int, n: int) -> str:
        for i in range(first, first + n):
            c.request(f"M{i}X", "/v1/classify" if i % 2 else f"/nowhere/{i}")
            c.get(f"/nowhere-{i}")
        return c.get("/metrics").text

    with TestClient(create_app(tiny_classifier, ServerSettings(max_wait_ms=0))) as c:
        wait_ready(c)
        hostile_round(0, 10)
        before = c.get("/metrics").text  # now with the series of /metrics itself
        after = hostile_round(10, 300)  # 600 new methods and paths: no new series, only counts change
    methods = set(re.findall(r'method="([^"]*)"', after))
    routes = set(re.findall(r'route="([^"]*)"', after))
    assert methods <= {"GET", "POST", "other"}, methods
    assert routes <= {"/v1/classify", "/readyz", "/metrics", "unmatched"}, routes
    assert 'method="other",route="/v1/classify",status="405"} 155.0' in after
    assert len(after.splitlines()) == len(before.splitlines())
    assert len(after) < len(before) + 500, f"/metrics grew from {len(before)} to {len(after)} bytes"


# -- names and keys outside Latin-1 ------------------------------------------------


class Renamed:
    """A backend under another model name."""

    def __init__(self, inner: Any, model_name: str) -> None:
        self.inner, self.model_name = inner, model_name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def served_name(classifier: ZeroShotClassifier) -> tuple[str, str]:
    """The model name /healthz and /v1/classify give, and the HF route's X-Zeroclass-Model header; all 200."""
    with TestClient(create_app(classifier, ServerSettings(max_wait_ms=0))) as c:
        wait_ready(c)
        health = c.get("/healthz")
        assert health.status_code == 200, health.text
        response = c.post(HF, json={"inputs": TEXT, "parameters": {"candidate_labels": LABELS}})
        assert response.status_code == 200, response.text
        classified = c.post("/v1/classify", json={"text": TEXT, "candidate_labels": LABELS})
        assert classified.status_code == 200 and classified.json()["model"] == health.json()["model"]
        return health.json()["model"], response.headers["x-zeroclass-model"]


def test_model_folder_named_outside_latin1_is_served(tiny_nli_dir, tmp_path):
    folder = tmp_path / "модель-模型"
    shutil.copytree(tiny_nli_dir, folder)
    classifier = ZeroShotClassifier.from_pretrained(str(folder), device="cpu")
    name, header = served_name(classifier)
    assert classifier.model_name == str(folder) and name == "модель-模型"  # the folder's name, not where it is
    assert header.isascii() and unquote(header) == name


def test_model_name_that_is_not_unicode_is_served(tiny_classifier):
    # A folder name that is not UTF-8 reaches Python with lone surrogates (os.fsdecode); transformers cannot
    # load such a folder today, but a name is no reason for a 500.
    undecodable = os.fsdecode(b"/models/\xff\xfe-model")
    name, header = served_name(ZeroShotClassifier(Renamed(tiny_classifier.backend, undecodable)))
    assert name == "\\udcff\\udcfe-model"  # the folder's own name, escaped
    assert header.isascii() and unquote(header) == name


def test_non_ascii_api_key_is_compared_as_utf8(tiny_classifier):
    key = "ключ-秘密"
    with TestClient(create_app(tiny_classifier, ServerSettings(api_key=key, max_wait_ms=0))) as c:
        body = {"text": TEXT, "candidate_labels": LABELS}
        assert c.post("/v1/classify", json=body, headers={"X-API-Key": key.encode()}).status_code == 200
        bearer = b"Bearer " + key.encode()
        assert c.post("/v1/classify", json=body, headers={"Authorization": bearer}).status_code == 200
        # The same characters as Latin-1 bytes are another key.
        assert c.post("/v1/classify", json=body, headers={"X-API-Key": "clé".encode("latin-1")}).status_code == 401
        assert c.post("/v1/classify", json=body, headers={"X-API-Key": key.encode()[:-1]}).status_code == 401


# -- slow and vanishing clients, through a real uvicorn ------------------------------


@contextmanager
def real_server(app: Any, settings: ServerSettings) -> Iterator[tuple[uvicorn.Server, str]]:
    """uvicorn in a thread on a free loopback port, as ``zeroclass serve`` configures it; stopped on exit."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **uvicorn_options(settings))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, lambda: None if thread.is_alive() else "server did not start", 30)
        yield server, url
    finally:
        server.should_exit = True
        thread.join(20)
        assert not thread.is_alive(), "server did not stop"


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


def read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took; bounded by ``limit_s``."""
    start = time.monotonic()
    data = b""
    sock.settimeout(0.1)
    while time.monotonic() - start < limit_s:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            return data, time.monotonic() - start
        data += chunk
    return data, float("inf")


TIMEOUTS = ServerSettings(max_wait_ms=0, header_timeout_s=0.5, body_timeout_s=0.5, keep_alive_timeout_s=0.5)


@pytest.fixture(scope="module")
def timed_server(tiny_classifier):
    with real_server(create_app(tiny_classifier, TIMEOUTS), TIMEOUTS) as (_, url):
        yield url


def test_silent_connection_is_closed_after_header_timeout(timed_server):
    with connect(timed_server) as sock:
        data, took = read_until_closed(sock, limit_s=5)
    assert data == b"" and took < 3


def test_trickled_headers_are_cut_off_with_408(timed_server):
    request = b"POST /v1/classify HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 1000
    with connect(timed_server) as sock:
        sock.settimeout(0.02)
        start, answer = time.monotonic(), b""
        for byte in request:  # a byte every 20 ms or so: the deadline must not restart with each one
            try:
                sock.sendall(bytes([byte]))
                answer = sock.recv(1024)
            except socket.timeout:
                continue
            except OSError:
                pass
            break
    took = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert took < 3


def test_half_a_body_gets_408_and_the_connection_closes(timed_server):
    with connect(timed_server) as sock:
        sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 200\r\n\r\n" + b'{"text": "half')
        data, took = read_until_closed(sock, limit_s=5)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), data
    assert b"connection: close" in head.lower()
    assert "body_timeout_s" in json.loads(body)["error"]
    assert took < 3


def test_idle_keep_alive_connection_is_closed(timed_server):
    with connect(timed_server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data, took = read_until_closed(sock, limit_s=5)
    assert data.startswith(b"HTTP/1.1 200") and took < 3


def test_a_hundred_slow_connections_are_all_dropped_and_the_server_answers(timed_server):
    socks = [connect(timed_server) for _ in range(100)]
    try:
        for i, sock in enumerate(socks):
            sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\n" if i % 2 else b"P")
        assert httpx.get(f"{timed_server}/healthz", timeout=5).status_code == 200
        deadline = time.monotonic() + 5
        for sock in socks:
            _, took = read_until_closed(sock, limit_s=max(deadline - time.monotonic(), 0.1))
            assert took != float("inf"), "a slow connection was still open after 5 s"
    finally:
        for sock in socks:
            sock.close()


def test_shutdown_does_not_wait_for_a_stalled_client(tiny_classifier):
    settings = ServerSettings(max_wait_ms=0, body_timeout_s=60, shutdown_timeout_s=1)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(tiny_classifier, settings), host="127.0.0.1", port=port,
                                          log_level="error", **uvicorn_options(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    with connect(url) as sock:
        sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        time.sleep(0.3)  # the request is in the app, waiting for the rest of its body
        start = time.monotonic()
        server.should_exit = True
        thread.join(10)
        took = time.monotonic() - start
    assert not thread.is_alive() and took < 5, f"shutdown took {took:.1f} s"


class GatedBackend:
    """The tiny model's backend, but a batch with the text "hold" waits for ``release``; records every text scored."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.release = threading.Event()
        self.holding = threading.Event()
        self.scored: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def score_pairs(self, pairs: list[tuple[str, str]]) -> Any:
        self.scored += [text for text, _ in pairs]
        if any(text == "hold" for text, _ in pairs):
            self.holding.set()
            assert self.release.wait(30), "never released"
        return self.inner.score_pairs(pairs)


def metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} missing from /metrics")


def test_queued_request_of_a_client_that_left_is_never_scored(tiny_classifier):
    backend = GatedBackend(tiny_classifier.backend)
    settings = ServerSettings(max_wait_ms=0, max_batch_requests=1)
    with real_server(create_app(ZeroShotClassifier(backend), settings), settings) as (_, url):
        holder: dict[str, Any] = {}
        first = threading.Thread(target=lambda: holder.update(r=httpx.post(
            f"{url}/v1/classify", json={"text": "hold", "candidate_labels": LABELS}, timeout=30)))
        first.start()
        assert backend.holding.wait(10), "the first request never reached the model"
        body = json.dumps({"text": "abandoned", "candidate_labels": LABELS}).encode()
        with connect(url) as sock:
            sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
            deadline = time.monotonic() + 10
            while metric(url, "zeroclass_queue_depth") < 1:
                assert time.monotonic() < deadline, "the second request was never queued"
                time.sleep(0.05)
        deadline = time.monotonic() + 10
        while metric(url, "zeroclass_abandoned_requests_total") < 1:
            assert time.monotonic() < deadline, "the request of the client that left stayed queued"
            time.sleep(0.05)
        assert metric(url, "zeroclass_queue_depth") == 0
        backend.release.set()
        first.join(30)
        assert holder["r"].status_code == 200
        assert httpx.post(f"{url}/v1/classify", json={"text": "after", "candidate_labels": LABELS}).status_code == 200
    assert "abandoned" not in backend.scored and "after" in backend.scored


# -- caps before work (issue 22, items 1-3) -------------------------------------


def _refused_without_preparing(client, monkeypatch, body: dict[str, Any], path: str, names: str) -> float:
    """Post ``body``; it must be refused (422 naming the cap) before the call is prepared. Peak MiB."""
    service = client.app.state.service
    monkeypatch.setattr(service.classifier, "prepare", lambda *a, **k: pytest.fail("prepared a call over a cap"))
    payload = json.dumps(body)
    tracemalloc.start()
    try:
        response = client.post(path, content=payload, headers={"content-type": "application/json"})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_refused(response, 422, names)
    return peak / 2**20


@pytest.mark.parametrize("path", ["/v1/classify", HF])
def test_many_texts_times_many_labels_is_refused_before_any_pair_exists(client, monkeypatch, path):
    """The request that got the server killed at 22.5 GB: 75,000 texts x 18,750 labels."""
    texts, labels = ["a"] * 75_000, ",".join(["b"] * 18_750)
    body = {"texts": texts, "candidate_labels": labels} if path != HF else {"inputs": texts, "parameters": {"candidate_labels": labels}}
    peak = _refused_without_preparing(client, monkeypatch, body, path, "this server takes at most max_texts=64")
    assert peak < 64, f"peak {peak:.0f} MiB while refusing it"  # the bound the README states


def test_too_many_labels_for_allowed_texts_is_refused_before_any_pair_exists(client, monkeypatch):
    body = {"texts": ["a"] * 64, "candidate_labels": ",".join(f"l{i}" for i in range(18_750))}
    peak = _refused_without_preparing(client, monkeypatch, body, "/v1/classify", "18750 candidate labels for text 0")
    assert peak < 64


def test_per_text_label_lists_are_counted_before_any_pair_exists(client, monkeypatch):
    body = {"texts": ["a", "b"], "candidate_labels": [["x", "y"], [f"l{i}" for i in range(65)]]}
    _refused_without_preparing(client, monkeypatch, body, "/v1/classify", "65 candidate labels for text 1")


def test_a_long_text_is_refused_before_any_work(client, monkeypatch):
    body = {"texts": ["short", "x" * 20_001], "candidate_labels": ["a"]}
    _refused_without_preparing(client, monkeypatch, body, "/v1/classify", "text 1 has 20001 characters")


def test_calls_are_prepared_off_the_event_loop(client, monkeypatch):
    """Preparing a call (pairs, a language detection per text) must not stall /healthz."""
    service = client.app.state.service
    original, seen = service.classifier.prepare, []

    def prepare(*args: Any, **kwargs: Any) -> Any:
        import asyncio

        try:
            asyncio.get_running_loop()
            seen.append("event loop")
        except RuntimeError:
            seen.append("worker thread")
        return original(*args, **kwargs)

    monkeypatch.setattr(service.classifier, "prepare", prepare)
    assert client.post("/v1/classify", json={"text": TEXT, "candidate_labels": LABELS}).status_code == 200
    assert seen == ["worker thread"]


def test_language_cache_keeps_digests_not_texts():
    from zeroclass import language

    language.detect_language("warm up the identifier", ["en", "fr", "zh"])  # its model loads once
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(40):
            language.detect_language(f"{i} " + "une phrase en français " * 4000, ["en", "fr", "zh"])  # ~90 KB each
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert all(isinstance(k, bytes) and len(k) == 16 for k in language._cache)
    assert grown < 2 * 2**20, f"the cache grew by {grown / 2**20:.1f} MiB for 40 texts"


def test_a_client_that_leaves_while_its_work_winds_down_is_client_gone():
    """cancel() only asks: a task still winding down must not be read as if it had a result (it was a 500)."""
    import asyncio

    from zeroclass.server.service import ClientGone, _unless_client_leaves

    class Gone:
        async def receive(self) -> dict[str, str]:
            return {"type": "http.disconnect"}

    async def slow_to_stop() -> str:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # e.g. taking itself out of the batcher's queue
            raise
        return "never"

    async def main() -> None:
        with pytest.raises(ClientGone):
            await _unless_client_leaves(Gone(), slow_to_stop())

    asyncio.run(main())


# -- shutdown (issue 22, item 4) ---------------------------------------------------


@contextmanager
def _model_held(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, threading.Event]]:
    """The app's model blocked inside ``score`` until the yielded gate is set."""
    service = app.state.service
    gate, entered = threading.Event(), threading.Event()
    original = service.classifier.score

    def held(pairs: Any, **kwargs: Any) -> Any:
        entered.set()
        gate.wait(30)
        return original(pairs, **kwargs)

    monkeypatch.setattr(service.classifier, "score", held)
    try:
        yield gate, entered
    finally:
        gate.set()


def _waiting_requests(client: TestClient, app: Any, monkeypatch: pytest.MonkeyPatch, stop: Any) -> list[httpx.Response]:
    """Three requests: one being scored (held), two queued behind it; then ``stop(service)``."""
    answers: list[httpx.Response] = []
    body = {"text": TEXT, "candidate_labels": LABELS}
    with _model_held(app, monkeypatch) as (gate, entered):
        threads = [threading.Thread(target=lambda: answers.append(client.post("/v1/classify", json=body))) for _ in range(3)]
        for t in threads:
            t.start()
        assert entered.wait(30)
        deadline = time.monotonic() + 30
        while len(app.state.service.batcher._jobs) < 2:
            assert time.monotonic() < deadline, "the requests never queued"
            time.sleep(0.01)
        stop(app.state.service)
        for t in threads:
            t.join(30)
    return answers


@pytest.mark.parametrize("stop", ["begin_shutdown", "close"])
def test_requests_waiting_when_the_server_stops_get_the_json_503(tiny_classifier, monkeypatch, stop):
    """They got uvicorn's plain-text 500 when the shutdown timeout cancelled them, and the process
    waited for the whole queue; now the service answers them itself, and close() never waits long."""
    app = create_app(tiny_classifier, ServerSettings(max_wait_ms=0, max_batch_requests=1))
    actions = {"begin_shutdown": lambda svc: svc.batcher.begin_shutdown(0.0), "close": lambda svc: svc.batcher.close(timeout_s=0.05)}
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_ready(client)
        answers = _waiting_requests(client, app, monkeypatch, actions[stop])
        assert len(answers) == 3
        for response in answers:
            assert_refused(response, 503, "shutting down")
            assert response.headers["retry-after"]
        assert_refused(client.post("/v1/classify", json={"text": TEXT, "candidate_labels": LABELS}), 503, "shutting down")


def test_a_stop_signal_reaches_the_service_at_once(tiny_classifier):
    import signal

    from zeroclass.server.connections import GracefulServer

    app = create_app(tiny_classifier, ServerSettings(shutdown_timeout_s=5))
    GracefulServer(uvicorn.Config(app)).handle_exit(signal.SIGTERM, None)
    service = app.state.service
    assert (service.ready, service.status, service.batcher._closing) == (False, "shutting down", True)


# -- origin and exposure (issue 22, item 5) ------------------------------------------


def test_public_endpoints_do_not_give_the_models_path(tiny_classifier):
    folder = str(Path(tiny_classifier.model_name).parent)
    with TestClient(create_app(tiny_classifier, ServerSettings(max_wait_ms=0, api_key="k"))) as c:
        wait_ready(c)
        for path in ("/healthz", "/readyz"):
            body = c.get(path).text
            assert folder not in body and Path(tiny_classifier.model_name).name in body


@pytest.mark.parametrize(("host", "status"), [
    ("127.0.0.1:8000", 200), ("localhost", 200), ("[::1]:8000", 200), ("LOCALHOST:1", 200),
    ("evil.example:8000", 403), ("127.0.0.1.evil.example", 403), ("", 403),
])
def test_only_the_bound_host_names_are_answered(tiny_classifier, host, status):
    """DNS rebinding: a page's own name pointed at 127.0.0.1 arrives as the Host header."""
    settings = ServerSettings(max_wait_ms=0, allowed_hosts=("localhost", "127.0.0.1", "::1"))
    with TestClient(create_app(tiny_classifier, settings), base_url="http://127.0.0.1") as c:
        for path in ("/healthz", "/"):
            response = c.get(path, headers={"host": host})
            assert response.status_code == status, (path, host, response.text[:200])
        refused = c.post("/v1/classify", json={"text": TEXT, "candidate_labels": LABELS}, headers={"host": "evil.example"})
        assert_refused(refused, 403, "--allowed-host")


def test_serve_answers_only_loopback_names_when_bound_to_loopback():
    from zeroclass.cli.serve import _allowed_hosts

    assert _allowed_hosts("127.0.0.1", []) == ("localhost", "127.0.0.1", "::1")
    assert _allowed_hosts("::1", ["box.local"]) == ("localhost", "127.0.0.1", "::1", "box.local")
    assert _allowed_hosts("0.0.0.0", []) is None  # exposed on purpose: any name
    assert _allowed_hosts("10.0.0.5", ["api.example"]) == ("10.0.0.5", "api.example")


def test_the_playground_cannot_be_framed_or_load_foreign_code(client):
    response = client.get("/")
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert response.headers["x-frame-options"] == "DENY"


def test_the_largest_request_the_caps_allow_stays_within_the_stated_bound(client):
    """README: at most 64 MiB of Python allocations above idle per request (the model's own activations
    are bounded by the token budget). 64 texts of 16,000 characters and 64 labels: just under 1 MiB."""
    words = "the match rain market storm team bank vote film song trip "
    texts = [(f"{i} " + words * 300)[:16_000] for i in range(64)]
    body = {"texts": texts, "candidate_labels": [f"label number {i}" for i in range(64)]}
    payload = json.dumps(body)
    assert len(payload) < 2**20
    client.post("/v1/classify", content=json.dumps({"texts": texts[:2], "candidate_labels": LABELS}),
                headers={"content-type": "application/json"})  # warm up lazy imports
    tracemalloc.start()
    try:
        response = client.post("/v1/classify", content=payload, headers={"content-type": "application/json"})
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    assert response.status_code == 200, response.text[:300]
    assert len(response.json()["results"]) == 64
    print(f"largest allowed request: peak {peak:.1f} MiB")
    assert peak < 64, f"peak {peak:.0f} MiB"


def test_a_model_name_with_spaces_is_sent_as_it_reads(tiny_classifier):
    """README: percent-encoded only where the name is not printable ASCII (spaces were encoded too)."""
    name, header = served_name(ZeroShotClassifier(Renamed(tiny_classifier.backend, "my nli model")))
    assert name == header == "my nli model"


def test_a_client_that_leaves_mid_body_is_counted_499_not_500(tiny_classifier):
    """Found from outside: each such client raised the 500 series of /metrics (an alert for nothing)."""
    with real_server(create_app(tiny_classifier, TIMEOUTS), TIMEOUTS) as (_, url):
        for _ in range(3):
            with connect(url) as sock:
                sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"text\": ")
        deadline = time.monotonic() + 30
        while 'status="499"' not in (metrics := httpx.get(f"{url}/metrics", timeout=5).text):
            assert time.monotonic() < deadline, "the 499s were never counted"
            time.sleep(0.05)
    assert 'status="500"' not in metrics
