"""Schemathesis against the service's own OpenAPI: whatever a client sends, never a 5xx.

Each operation is fuzzed with schema-valid requests (which must be answered
in the documented shape) and schema-breaking ones (wrong types, missing
fields, odd strings), through the ASGI app with its real batcher. Driven by
Hypothesis directly: schemathesis' pytest plugin does not run under pytest 9.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from zeroclass.server import ServerSettings, create_app

#: Examples per operation and mode: enough to reach every field's failure paths, bounded for CI.
EXAMPLES = 25


@pytest.fixture(scope="module")
def schema(tiny_classifier):
    app = create_app(tiny_classifier, ServerSettings(max_wait_ms=0, max_texts=8, max_labels=8, max_text_chars=500))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors(schema, mode):
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/classify", "/hf-inference/models/{model_id}"}
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and operation.method.upper() != "POST":
            continue  # nothing to break in a request without parameters or body
        checks = [not_a_server_error] + ([response_schema_conformance] if mode is GenerationMode.POSITIVE else [])

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case):
            case.validate_response(case.call(), checks=checks)

        fuzz()
