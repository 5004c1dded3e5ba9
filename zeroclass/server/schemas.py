"""Request and response bodies: what the routes accept, and the OpenAPI document.

Types are strict (``"true"`` is not a bool, ``1`` is not a string), unknown
fields are refused (a misspelt ``candidate_label`` would otherwise be
ignored), and label lists are left to ``zeroclass.hypotheses`` to check, so
the service rejects bad labels with the same messages as the Python API.
"""

from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, model_validator

__all__ = [
    "ClassifyRequest",
    "ClassifyResponse",
    "HFRequest",
    "HFLabelScore",
    "ErrorResponse",
    "Status",
]

_STRICT = ConfigDict(extra="forbid", strict=True)

# Checked by zeroclass.hypotheses.labels_per_text (types, empties, duplicates).
Labels = SkipValidation[Union[list[str], list[list[str]], str]]
_LABELS_DOC = (
    'The candidate labels: a list, one string split on "," or "，", '
    "or one list per text."
)


def _text_or_texts(schema: dict[str, Any]) -> None:
    """Document what the validator enforces: exactly one of the two, neither of them null."""
    properties = schema["properties"]
    properties["text"] = {"type": "string", "description": properties["text"]["description"]}
    properties["texts"] = {"type": "array", "items": {"type": "string"}, "description": properties["texts"]["description"]}
    schema["oneOf"] = [{"required": ["text"]}, {"required": ["texts"]}]


class ClassifyRequest(BaseModel):
    """``POST /v1/classify``: one text or many, against candidate labels."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_text_or_texts)

    text: str | None = Field(None, description="One text to classify (give this or `texts`).")
    texts: list[str] | None = Field(None, description="Several texts to classify (give this or `text`).")
    candidate_labels: Labels = Field(description=_LABELS_DOC)
    multi_label: bool = Field(False, description="Score each label on its own (0..1) instead of summing to 1.")
    hypothesis_template: str | None = Field(
        None, description="A sentence with one `{}` where the label goes; default: the model's own."
    )
    explain: bool = Field(False, description="Add each label's hypothesis and NLI probabilities.")
    shortlist: int | None = Field(
        None,
        ge=1,
        description="NLI models: score only each text's K likeliest labels, picked by an embedding model; "
        "the others come last with score 0.0 (see `shortlisted`). Default: score every label.",
    )

    @model_validator(mode="after")
    def _one_of_text_or_texts(self) -> "ClassifyRequest":
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of 'text' (a string) or 'texts' (a list of strings)")
        return self


class Explanation(BaseModel):
    label: str
    hypothesis: str | None = Field(description="`null` for a label outside the shortlist.")
    hypotheses: list[str] | None = Field(
        None, description="With a template ensemble: every hypothesis whose logits were averaged (first: `hypothesis`)."
    )
    score: float
    entailment: float | None = Field(description="`null` for a label outside the shortlist.")
    neutral: float | None = Field(description="`null` for 2-class NLI models.")
    contradiction: float | None = Field(description="`null` for a label outside the shortlist.")
    scored: bool | None = Field(None, description="With `shortlist`: whether the NLI model scored this label.")


class Classification(BaseModel):
    sequence: str
    labels: list[str] = Field(description="Best first.")
    scores: list[float] = Field(description="In the order of `labels`.")
    explanation: list[Explanation] | None = Field(None, description="Only with `explain: true`.")
    model: str | None = Field(
        None,
        description="The model that answered this text: with `explain: true`, and always from the offline "
        "default, which answers each text with the model for its language.",
    )
    shortlisted: list[str] | None = Field(
        None, description="Only with `shortlist`: the labels the NLI model scored, best first; the others scored 0."
    )


class ClassifyResponse(BaseModel):
    model: str = Field(description="The model that answered.")
    results: list[Classification] = Field(description="One per text, in request order.")


class HFParameters(BaseModel):
    model_config = _STRICT

    candidate_labels: Labels = Field(description=_LABELS_DOC)
    multi_label: bool | None = False
    hypothesis_template: str | None = None


class HFRequest(BaseModel):
    """The Hugging Face Inference API's zero-shot-classification request."""

    model_config = _STRICT

    inputs: SkipValidation[Union[str, list[str]]] = Field(description="One text, or a list of texts.")
    parameters: HFParameters
    options: dict[str, Any] | None = Field(
        None, description="Accepted for compatibility (`wait_for_model`, `use_cache`); has no effect here."
    )


class HFLabelScore(BaseModel):
    label: str
    score: float


class ErrorResponse(BaseModel):
    error: str = Field(description="What was wrong, naming the field, text, label or cap.")
    detail: list[dict[str, Any]] | None = Field(None, description="Every validation problem, when there were several.")


class Status(BaseModel):
    status: str
    model: str
