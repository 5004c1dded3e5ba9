"""The service through its ASGI app: routes, HF shape, parity with the Python API, every bad input."""

from __future__ import annotations

from pathlib import Path

import asyncio
import re
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from zeroclass.server import ServerSettings, create_app

TEXT = "the world is big and i want to go and see it"
LABELS = ["travel", "home", "technology"]


def wait_ready(client: TestClient, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "server never became ready"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def client(tiny_classifier):
    with TestClient(create_app(tiny_classifier, ServerSettings(max_texts=4, max_labels=5, max_text_chars=300))) as c:
        wait_ready(c)
        yield c


def post(client: TestClient, body: Any, path: str = "/v1/classify", **kwargs: Any) -> httpx.Response:
    return client.post(path, json=body, **kwargs)


def assert_same(got: dict, expected: dict) -> None:
    assert got["sequence"] == expected["sequence"]
    assert got["labels"] == expected["labels"]
    assert got["scores"] == pytest.approx(expected["scores"], abs=1e-5)


# -- routes ------------------------------------------------------------------


def test_health_ready_and_docs(client, tiny_classifier):
    assert client.get("/healthz").json() == {"status": "ok", "model": Path(tiny_classifier.model_name).name}
    assert client.get("/readyz").json() == {"status": "ready", "model": Path(tiny_classifier.model_name).name}
    schema = client.get("/openapi.json").json()
    assert {"/v1/classify", "/hf-inference/models/{model_id}", "/healthz", "/readyz", "/metrics"} <= set(schema["paths"])
    assert client.get("/docs").status_code == 200


def test_readyz_is_503_until_warmed_up(tiny_classifier):
    # The warm-up call waits max_wait for company, so readiness comes that much later.
    with TestClient(create_app(tiny_classifier, ServerSettings(max_wait_ms=1500))) as c:
        first = c.get("/readyz")
        assert first.status_code == 503 and first.json()["status"] == "warming up"
        assert c.get("/healthz").status_code == 200
        wait_ready(c)


def test_single_text_matches_python_api(client, tiny_classifier):
    body = post(client, {"text": TEXT, "candidate_labels": LABELS}).json()
    assert body["model"] == Path(tiny_classifier.model_name).name
    (result,) = body["results"]
    assert_same(result, tiny_classifier(TEXT, LABELS))
    assert "explanation" not in result


@pytest.mark.parametrize("multi_label", [False, True])
def test_many_texts_options_and_explain_match_python_api(client, tiny_classifier, multi_label):
    texts = [TEXT, "我想去看看", "stocks fell as the market closed"]
    options = dict(multi_label=multi_label, hypothesis_template="This text is about {}.", explain=True)
    body = post(client, {"texts": texts, "candidate_labels": "travel，home, finance", **options}).json()
    expected = tiny_classifier(texts, "travel，home, finance", **options)
    assert len(body["results"]) == 3
    for got, want in zip(body["results"], expected):
        assert_same(got, want)
        for g, w in zip(got["explanation"], want["explanation"]):
            assert g["label"] == w["label"] and g["hypothesis"] == w["hypothesis"]
            for key in ("score", "entailment", "neutral", "contradiction"):
                assert g[key] == pytest.approx(w[key], abs=1e-5)


def test_one_label_list_per_text(client, tiny_classifier):
    texts, labels = ["a big trip", "a new phone"], [["travel", "home"], ["technology", "music", "food"]]
    body = post(client, {"texts": texts, "candidate_labels": labels}).json()
    for got, want in zip(body["results"], tiny_classifier(texts, labels)):
        assert_same(got, want)


def test_hf_route_single_input_matches_hf_shape(client, tiny_classifier):
    response = post(client, {"inputs": TEXT, "parameters": {"candidate_labels": LABELS}},
                    path="/hf-inference/models/facebook/bart-large-mnli")
    assert response.status_code == 200
    assert response.headers["x-zeroclass-model"] == Path(tiny_classifier.model_name).name
    expected = tiny_classifier(TEXT, LABELS)
    body = response.json()
    assert [item["label"] for item in body] == expected["labels"]
    assert [item["score"] for item in body] == pytest.approx(expected["scores"], abs=1e-5)
    assert all(set(item) == {"label", "score"} for item in body)


def test_hf_route_list_input_with_parameters_and_options(client, tiny_classifier):
    texts = [TEXT, "a new phone"]
    params = {"candidate_labels": LABELS, "multi_label": True, "hypothesis_template": "It is about {}."}
    body = post(client, {"inputs": texts, "parameters": params, "options": {"wait_for_model": True}},
                path="/hf-inference/models/any/model").json()
    expected = tiny_classifier(texts, LABELS, multi_label=True, hypothesis_template="It is about {}.")
    assert len(body) == 2
    for got, want in zip(body, expected):
        assert [g["label"] for g in got] == want["labels"]
        assert [g["score"] for g in got] == pytest.approx(want["scores"], abs=1e-5)


def test_playground_page_is_self_contained(client):
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "世界那么大，我想去看看" in page and "家居" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "the page must not load anything remote"


def test_not_found_and_wrong_method_are_json(client):
    missing = client.get("/nope")
    assert missing.status_code == 404 and "error" in missing.json()
    wrong = client.get("/v1/classify")
    assert wrong.status_code == 405 and "error" in wrong.json()


# -- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"candidate_labels": LABELS}, "exactly one of 'text'"),
        ({"text": TEXT, "texts": [TEXT], "candidate_labels": LABELS}, "exactly one of 'text'"),
        ({"text": TEXT}, "candidate_labels: Field required"),
        ({"text": 3, "candidate_labels": LABELS}, "text: Input should be a valid string"),
        ({"texts": [TEXT, 7], "candidate_labels": LABELS}, "texts.1: Input should be a valid string"),
        ({"texts": TEXT, "candidate_labels": LABELS}, "texts: Input should be a valid list"),
        ({"text": TEXT, "candidate_labels": LABELS, "multi_label": "yes"}, "multi_label: Input should be a valid boolean"),
        ({"text": TEXT, "candidate_labels": LABELS, "explain": 1}, "explain: Input should be a valid boolean"),
        ({"text": TEXT, "candidate_labels": LABELS, "hypothesis_template": 5}, "hypothesis_template: Input should be a valid string"),
        ({"text": TEXT, "candidate_label": LABELS}, "candidate_label: Extra inputs are not permitted"),
        ({"text": TEXT, "candidate_labels": ["a", 2]}, "label 1 is int"),
        ({"text": TEXT, "candidate_labels": {"a": 1}}, "candidate_labels must be a list"),
        ({"text": TEXT, "candidate_labels": "a,,b"}, "label 1 is empty"),
        ({"text": TEXT, "candidate_labels": ["a", "a"]}, "duplicate label 'a'"),
        ({"text": TEXT, "candidate_labels": []}, "no candidate labels"),
        ({"text": "  ", "candidate_labels": LABELS}, "the text is empty"),
        ({"texts": [], "candidate_labels": LABELS}, "no texts given"),
        ({"texts": ["a", "b"], "candidate_labels": [["x"], ["y"], ["z"]]}, "3 label lists but there are 2 texts"),
        ({"text": TEXT, "candidate_labels": LABELS, "hypothesis_template": "no slot"}, "exactly one {}"),
        ({"text": TEXT, "candidate_labels": LABELS, "hypothesis_template": "{} and {}"}, "exactly one {}"),
        ([TEXT], "body: Input should be a valid dictionary"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, body, names):
    response = post(client, body)
    assert response.status_code == 422, response.text
    assert names in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"parameters": {"candidate_labels": LABELS}}, "inputs: Field required"),
        ({"inputs": TEXT}, "parameters: Field required"),
        ({"inputs": TEXT, "parameters": {}}, "parameters.candidate_labels: Field required"),
        ({"inputs": 5, "parameters": {"candidate_labels": LABELS}}, "texts must be a string or a list"),
        ({"inputs": TEXT, "parameters": {"candidate_labels": LABELS, "top_k": 2}}, "parameters.top_k: Extra inputs"),
        ({"inputs": TEXT, "parameters": {"candidate_labels": LABELS, "multi_label": "no"}}, "parameters.multi_label"),
    ],
)
def test_hf_route_bad_input_is_422_with_hf_error_shape(client, body, names):
    response = post(client, body, path="/hf-inference/models/x")
    assert response.status_code == 422, response.text
    assert names in response.json()["error"]


def test_malformed_json_and_missing_content_type(client):
    broken = client.post("/v1/classify", content=b'{"text": "a", ', headers={"content-type": "application/json"})
    assert broken.status_code == 422 and "malformed JSON at character" in broken.json()["error"]
    untyped = client.post("/v1/classify", content=b'{"text": "a", "candidate_labels": "b"}')
    assert untyped.status_code == 422 and "Content-Type: application/json" in untyped.json()["error"]


def test_caps_are_enforced_and_named(client):
    cases = [
        ({"texts": ["a"] * 5, "candidate_labels": LABELS}, "5 texts in one request; this server takes at most max_texts=4"),
        ({"text": "a", "candidate_labels": list("abcdef")}, "6 candidate labels for text 0; this server takes at most max_labels=5"),
        ({"texts": ["a", "b" * 301], "candidate_labels": LABELS}, "text 1 has 301 characters; this server takes at most max_text_chars=300"),
    ]
    for body, message in cases:
        response = post(client, body)
        assert response.status_code == 422 and response.json()["error"] == message


def test_body_over_cap_is_413_declared_or_streamed(tiny_classifier):
    def chunks():
        for _ in range(5):
            yield b"x" * 300

    with TestClient(create_app(tiny_classifier, ServerSettings(max_body_bytes=1000))) as c:
        declared = c.post("/v1/classify", content=b"x" * 1001, headers={"content-type": "application/json"})
        assert declared.status_code == 413
        assert declared.json()["error"] == "request body is 1001 bytes; this server takes at most max_body_bytes=1000"
        streamed = c.post("/v1/classify", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413 and "max_body_bytes=1000" in streamed.json()["error"]
        fits = c.post("/v1/classify", json={"text": "a", "candidate_labels": "b,c"})
        assert fits.status_code == 200


def test_api_key(tiny_classifier):
    with TestClient(create_app(tiny_classifier, ServerSettings(api_key="s3cret"))) as c:
        body = {"text": TEXT, "candidate_labels": LABELS}
        missing = post(c, body)
        assert missing.status_code == 401 and "needs an API key" in missing.json()["error"]
        assert missing.headers["www-authenticate"] == "Bearer"
        assert post(c, body, headers={"Authorization": "Bearer nope"}).json()["error"] == "wrong API key"
        assert post(c, body, headers={"X-API-Key": "nope"}).status_code == 401
        hf = {"inputs": TEXT, "parameters": {"candidate_labels": LABELS}}
        assert post(c, hf, path="/hf-inference/models/m").status_code == 401
        assert post(c, body, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert post(c, body, headers={"X-API-Key": "s3cret"}).status_code == 200
        assert post(c, hf, path="/hf-inference/models/m", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/healthz").status_code == 200


# -- micro-batching ------------------------------------------------------------


async def _concurrently(app: Any, bodies: list[tuple[str, Any]]) -> list[httpx.Response]:
    """Send every request at once through the ASGI app, lifespan included."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            while (await c.get("/readyz")).status_code != 200:
                await asyncio.sleep(0.02)
            responses = await asyncio.gather(*(c.post(path, json=body) for path, body in bodies))
            metrics = (await c.get("/metrics")).text
    return [*responses, metrics]


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


def test_concurrent_requests_are_batched_and_each_gets_its_own_results(tiny_classifier):
    app = create_app(tiny_classifier, ServerSettings(max_wait_ms=1000))
    texts = [f"text number {i} about the world" for i in range(12)]
    bodies = [("/v1/classify", {"text": t, "candidate_labels": LABELS}) for t in texts]
    bodies += [("/v1/classify", {"text": texts[0], "candidate_labels": LABELS})] * 3  # duplicates of request 0
    *responses, metrics = asyncio.run(_concurrently(app, bodies))
    for (path, body), response in zip(bodies, responses):
        assert response.status_code == 200
        assert_same(response.json()["results"][0], tiny_classifier(body["text"], LABELS))
    # 15 requests (plus the warm-up) in fewer batches than requests; identical pairs scored once.
    assert metric(metrics, "zeroclass_batch_requests_sum") == 16
    assert metric(metrics, "zeroclass_batch_requests_count") < 16
    assert metric(metrics, "zeroclass_pairs_scored_total") == 2 + 12 * len(LABELS)
    assert 'zeroclass_http_requests_total{method="POST",route="/v1/classify",status="200"} 15.0' in metrics
    assert 'zeroclass_http_request_duration_seconds_count{method="POST",route="/v1/classify",status="200"} 15.0' in metrics
    assert metric(metrics, "zeroclass_queue_depth") == 0


def test_a_bad_request_in_a_batch_fails_alone(tiny_classifier):
    # A hypothesis longer than the tiny model's 128 tokens passes validation but fails
    # in the tokenizer, i.e. while the whole micro-batch is being scored.
    app = create_app(tiny_classifier, ServerSettings(max_wait_ms=1000))
    too_long = " ".join(["word"] * 200)
    good = [("/v1/classify", {"text": f"good text {i}", "candidate_labels": LABELS}) for i in range(4)]
    bad = [("/v1/classify", {"text": "bad", "candidate_labels": ["ok", too_long]}),
           ("/hf-inference/models/m", {"inputs": "bad", "parameters": {"candidate_labels": [too_long]}})]
    bodies = good[:2] + bad + good[2:]
    *responses, _ = asyncio.run(_concurrently(app, bodies))
    for (path, body), response in zip(bodies, responses):
        if (path, body) in bad:
            assert response.status_code == 422 and "too long for max_length=128" in response.json()["error"]
        else:
            assert response.status_code == 200
            assert_same(response.json()["results"][0], tiny_classifier(body["text"], LABELS))


def test_full_queue_is_503_with_retry_after(tiny_classifier):
    app = create_app(tiny_classifier, ServerSettings(max_queue=1, max_wait_ms=1000))
    body = {"text": TEXT, "candidate_labels": LABELS}
    *responses, _ = asyncio.run(_concurrently(app, [("/v1/classify", body)] * 3))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 503, 503]
    refused = next(r for r in responses if r.status_code == 503)
    assert refused.headers["retry-after"] == "1" and "max_queue=1" in refused.json()["error"]


# -- docs served offline ---------------------------------------------------------

_ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def _assert_docs_page_is_offline(client: TestClient, path: str) -> list[str]:
    """The page at ``path`` is HTML loading nothing remote; every asset it names is served here. The asset URLs."""
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "cdn" not in page.lower(), f"{path} must not load from a CDN"
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), f"{path} must not load anything remote"
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)
    assert assets, f"{path} names no assets"
    for url in assets:
        assert url.startswith("/docs-static/"), url
        ext = url[url.rfind("."):]
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert _ASSET_TYPES[ext] in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert len(asset.content) > 100, url
    return assets


def test_docs_are_served_offline(client):
    assets = _assert_docs_page_is_offline(client, "/docs")
    assert {a.rsplit("/", 1)[1] for a in assets} >= {"swagger-ui-bundle.js", "swagger-ui.css"}
    page = client.get("/docs").text
    assert "/openapi.json" in page and "SwaggerUIBundle" in page


def test_redoc_is_served_offline(client):
    assets = _assert_docs_page_is_offline(client, "/redoc")
    assert "/docs-static/redoc.standalone.js" in assets
    assert "fonts.googleapis" not in client.get("/redoc").text


def test_docs_stay_public_with_an_api_key(tiny_classifier):
    with TestClient(create_app(tiny_classifier, ServerSettings(api_key="s3cret"))) as c:
        assert c.get("/openapi.json").status_code == 200
        for path in ("/docs", "/redoc"):
            _assert_docs_page_is_offline(c, path)
        assert post(c, {"text": TEXT, "candidate_labels": LABELS}).status_code == 401
