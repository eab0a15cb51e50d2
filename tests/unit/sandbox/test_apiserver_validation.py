"""Structural-schema validation: messages and field paths as the real server words them."""

from __future__ import annotations

from typing import Any

import pytest

from controller.sandbox.apiserver.validation import validate_object

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["steps"],
            "properties": {
                "steps": {
                    "type": "array",
                    "maxItems": 3,
                    "minItems": 1,
                    "items": {"type": "integer", "minimum": 1, "maximum": 100},
                },
                "mode": {"type": "string", "enum": ["auto", "manual"]},
                "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5, "minLength": 2},
                "port": {
                    "x-kubernetes-int-or-string": True,
                    "anyOf": [{"type": "integer"}, {"type": "string"}],
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "maybe": {"type": "string", "nullable": True},
                "ratio": {"type": "number", "exclusiveMaximum": True, "maximum": 1},
            },
        },
    },
}


def _messages(spec: dict[str, Any]) -> dict[str, str]:
    outcome = validate_object({"metadata": {"name": "x"}, "spec": spec}, SCHEMA)
    return {c.field: c.message for c in outcome.causes}


def test_a_valid_object_passes_unchanged() -> None:
    spec = {
        "steps": [1, 100],
        "mode": "auto",
        "name": "ab",
        "port": "http",
        "labels": {"a": "b"},
        "free": {"x": [1]},
        "maybe": None,
        "ratio": 0.5,
    }
    outcome = validate_object({"metadata": {"name": "x"}, "spec": spec}, SCHEMA)
    assert outcome.causes == []
    assert outcome.unknown == []
    assert outcome.value["spec"] == spec


@pytest.mark.parametrize(
    ("spec", "field", "message"),
    [
        (
            {"steps": [1, 150]},
            "spec.steps[1]",
            "Invalid value: 150: spec.steps[1] in body should be less than or equal to 100",
        ),
        (
            {"steps": [0]},
            "spec.steps[0]",
            "Invalid value: 0: spec.steps[0] in body should be greater than or equal to 1",
        ),
        (
            {"steps": ["1"]},
            "spec.steps[0]",
            'Invalid value: "string": spec.steps[0] in body must be of type integer: "string"',
        ),
        ({"steps": [1, 2, 3, 4]}, "spec.steps", "Too many: 4: must have at most 3 items"),
        (
            {"steps": []},
            "spec.steps",
            "Invalid value: 0: spec.steps in body should have at least 1 items",
        ),
        ({}, "spec.steps", "Required value"),
        (
            {"steps": [1], "mode": "x"},
            "spec.mode",
            'Unsupported value: "x": supported values: "auto", "manual"',
        ),
        (
            {"steps": [1], "name": "ABC"},
            "spec.name",
            "Invalid value: \"ABC\": spec.name in body should match '^[a-z]+$'",
        ),
        ({"steps": [1], "name": "abcdef"}, "spec.name", "Too long: may not be longer than 5"),
        (
            {"steps": [1], "name": "a"},
            "spec.name",
            'Invalid value: "a": spec.name in body should be at least 2 chars long',
        ),
        (
            {"steps": [1], "port": 1.5},
            "spec.port",
            'Invalid value: "number": spec.port in body must be of type integer-or-string',
        ),
        (
            {"steps": [1], "labels": {"k": 1}},
            "spec.labels[k]",
            'Invalid value: "integer": spec.labels[k] in body must be of type string: "integer"',
        ),
        (
            {"steps": [1], "ratio": 1},
            "spec.ratio",
            "Invalid value: 1: spec.ratio in body should be less than 1",
        ),
    ],
)
def test_failures_name_the_field_and_read_like_the_apiserver(
    spec: dict[str, Any], field: str, message: str
) -> None:
    assert _messages(spec)[field] == message


def test_undeclared_fields_are_pruned_and_reported() -> None:
    obj = {
        "metadata": {"name": "x", "colour": "red"},
        "spec": {"steps": [1], "extra": 1, "free": {"kept": True}},
    }
    outcome = validate_object(obj, SCHEMA)
    assert outcome.unknown == ["spec.extra", "metadata.colour"]
    assert outcome.value["spec"] == {"steps": [1], "free": {"kept": True}}


def test_null_in_a_non_nullable_field_is_dropped_not_rejected() -> None:
    outcome = validate_object({"spec": {"steps": [1], "mode": None}}, SCHEMA)
    assert outcome.causes == []
    assert outcome.value["spec"] == {"steps": [1]}


ONE_OF: dict[str, Any] = {
    "type": "object",
    "properties": {
        "match": {
            "type": "object",
            "properties": {"exact": {"type": "string"}, "prefix": {"type": "string"}},
            "oneOf": [
                {"not": {"anyOf": [{"required": ["exact"]}, {"required": ["prefix"]}]}},
                {"required": ["exact"]},
                {"required": ["prefix"]},
            ],
        }
    },
}


@pytest.mark.parametrize(
    ("match", "valid"),
    [
        ({}, True),
        ({"exact": "/a"}, True),
        ({"prefix": "/"}, True),
        ({"exact": "/a", "prefix": "/"}, False),
    ],
)
def test_istio_style_one_of_allows_at_most_one_of_the_fields(
    match: dict[str, str], valid: bool
) -> None:
    outcome = validate_object({"match": match}, ONE_OF)
    assert (outcome.causes == []) is valid


def test_no_schema_accepts_anything() -> None:
    outcome = validate_object({"metadata": {"name": "x"}, "anything": {"goes": 1}}, None)
    assert outcome.causes == []
    assert outcome.value["anything"] == {"goes": 1}


def test_schema_defaults_fill_absent_and_pruned_null_fields() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "interval": {"type": "string", "default": "30s"},
                    "paused": {"type": "boolean", "default": False},
                    "steps": {"type": "array", "items": {"type": "integer"}, "default": [100]},
                },
                "required": ["interval"],
            }
        },
    }
    outcome = validate_object({"spec": {"paused": None, "steps": [10]}}, schema)
    assert outcome.causes == []
    assert outcome.value["spec"] == {"interval": "30s", "paused": False, "steps": [10]}
