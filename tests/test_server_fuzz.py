"""Fuzzing the service: whatever a client sends, never a 5xx, and never an unbounded error body.

Schemathesis fuzzes each operation of the service's own OpenAPI with
schema-valid requests (which must be answered in the documented shape) and
schema-breaking ones (wrong types, missing fields, odd strings). Schemas do
not reach the hostile corners, so Hypothesis then builds them directly:
templates assembled from format-string pieces, texts and labels from every
Unicode category (lone surrogates, controls, zero-width characters
included), non-bool flags, and raw bodies that are mutated or random bytes.
All through the ASGI app with its real batcher; each test prints how many
inputs it tried (``pytest -s``). Driven by Hypothesis directly:
schemathesis' pytest plugin does not run under pytest 9.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from zeroclass.server import ServerSettings, create_app

#: Examples per operation and mode: enough to reach every field's failure paths, bounded for CI.
EXAMPLES = 25
#: Examples of each hand-built hostile strategy.
HOSTILE_EXAMPLES = 200
#: Largest error body a client can cause, in bytes: error messages quote input only in part.
MAX_ERROR_BYTES = 4096


@pytest.fixture(scope="module")
def schema(tiny_classifier):
    app = create_app(tiny_classifier, ServerSettings(max_wait_ms=0, max_texts=8, max_labels=8, max_text_chars=500))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(schema, mode):
    tried = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/classify", "/hf-inference/models/{model_id}"}
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and operation.method.upper() != "POST":
            continue  # nothing to break in a request without parameters or body
        checks = [not_a_server_error] + ([response_schema_conformance] if mode is GenerationMode.POSITIVE else [])

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case):
            nonlocal tried
            tried += 1
            case.validate_response(case.call(), checks=checks)

        fuzz()
    print(f"schemathesis {mode.value}: {tried} inputs tried, 0 answered 5xx")


@pytest.fixture(scope="module")
def client(tiny_classifier):
    app = create_app(tiny_classifier, ServerSettings(max_wait_ms=0, max_texts=8, max_labels=8, max_text_chars=500))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


# Every Unicode category, surrogates (Cs), controls (Cc), format characters (Cf) and private use included.
_ANY_CHAR = st.characters(codec=None, categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Cs", "Co"))
_STRINGS = st.text(_ANY_CHAR, max_size=12) | st.sampled_from(["", "\x00", "\u200b", "\ud800", "a\u200b", "a", " "])
_TEMPLATE_PIECES = st.sampled_from(
    ["{", "}", "{}", "{0}", "{{", "}}", ":", "!r", "!s", ">", ".", "5000000", "{:", "{!", "{0.__class__}", "{:{}}",
     "{x}", "{:d}", "x", " ", "\ud800", "\u200b"]
)
#: For each field, values that break it; the request's other fields are valid, so the broken one is what is tested.
_HOSTILE = {
    "text": _STRINGS | st.lists(_STRINGS, min_size=1, max_size=3),
    "labels": _STRINGS | st.lists(_STRINGS, max_size=4).map(lambda labels: ["ok", *labels]),
    "template": st.lists(_TEMPLATE_PIECES, max_size=6).map("".join) | _STRINGS,
    "multi_label": st.sampled_from([True, False, "no", "false", 0, 1, [], {}]),
}
_VALID = {"text": "a text about the world", "labels": ["travel", "home"], "template": "It is about {}.", "multi_label": False}
#: Statuses the service documents for a client's request.
_DOCUMENTED = {200, 413, 422}


def _answered_well(client: TestClient, path: str, raw: bytes) -> int:
    """POST ``raw``; assert a documented status and, for an error, a bounded body; the status."""
    response = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert response.status_code in _DOCUMENTED, response.text[:300]
    if response.status_code != 200:
        assert len(response.content) <= MAX_ERROR_BYTES and "error" in response.json()
    return response.status_code


@st.composite
def _hostile_request(draw: Any) -> tuple[str, dict[str, Any]]:
    """One route's request with one or two of its fields hostile."""
    fields = dict(_VALID)
    for name in draw(st.sets(st.sampled_from(sorted(_HOSTILE)), min_size=1, max_size=2)):
        fields[name] = draw(_HOSTILE[name])
    text, labels, template, multi = fields["text"], fields["labels"], fields["template"], fields["multi_label"]
    if draw(st.booleans()):
        params = {"candidate_labels": labels, "hypothesis_template": template, "multi_label": multi}
        return "/hf-inference/models/m", {"inputs": text, "parameters": params}
    body = {"texts" if isinstance(text, list) else "text": text, "candidate_labels": labels}
    return "/v1/classify", {**body, "hypothesis_template": template, "multi_label": multi}


def test_hostile_fields_never_cost_a_5xx(client):
    tried: dict[int, int] = {}

    @given(request=_hostile_request())
    @settings(max_examples=HOSTILE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              derandomize=True)
    def fuzz(request: tuple[str, dict[str, Any]]) -> None:
        path, body = request
        status = _answered_well(client, path, json.dumps(body).encode())  # ensure_ascii: surrogates as \ud800
        tried[status] = tried.get(status, 0) + 1

    fuzz()
    print(f"hostile fields: {sum(tried.values())} inputs tried, statuses {dict(sorted(tried.items()))}")
    assert tried.get(200) and tried.get(422), "the strategies no longer reach both answers"


def test_hostile_bodies_never_cost_a_5xx(client):
    valid = json.dumps({"text": "a text", "candidate_labels": ["a", "b"], "hypothesis_template": "It is {}."}).encode()
    tried = 0

    @given(
        raw=st.binary(max_size=200)
        | st.tuples(st.integers(0, len(valid)), st.binary(min_size=1, max_size=4)).map(
            lambda cut: valid[: cut[0]] + cut[1] + valid[cut[0] + len(cut[1]) :]
        )
        | st.integers(1, 5000).map(lambda depth: b"[" * depth + b"]" * depth),
        hf=st.booleans(),
    )
    @settings(max_examples=HOSTILE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              derandomize=True)
    def fuzz(raw: bytes, hf: bool) -> None:
        nonlocal tried
        tried += 1
        _answered_well(client, "/hf-inference/models/m" if hf else "/v1/classify", raw)

    fuzz()
    print(f"hostile bodies: {tried} inputs tried, each answered 200, 413 or 422 (none 5xx)")
