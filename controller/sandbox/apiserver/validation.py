"""Structural-schema validation and pruning of objects against an openAPIV3Schema.

One walk over the object does what the apiextensions server does on every write: drop fields the
schema does not declare (remembering their paths, so ``fieldValidation=Strict`` can reject them),
drop ``null`` where the schema is not ``nullable``, fill in ``default`` values, and check types,
required, enum, bounds, lengths, patterns, item counts and the ``anyOf``/``oneOf``/``allOf``/``not``
combinators. Field
paths and messages follow the real server: ``spec.steps[1]: Invalid value: 150: spec.steps[1]
in body should be less than or equal to 100``. CEL rules (``x-kubernetes-validations``) are not
evaluated.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import Cause
from .registry import Schema

OBJECT_META_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)
_ROOT_FIELDS = ("apiVersion", "kind", "metadata")
_PRESERVE = "x-kubernetes-preserve-unknown-fields"


@dataclass
class Outcome:
    """The pruned object, the failed checks and the undeclared fields that were dropped."""

    value: Any
    causes: list[Cause] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def show(value: Any) -> str:
    """A value as Go's field errors print it: strings quoted, numbers and booleans bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _type_matches(wanted: str, value: Any) -> bool:
    actual = json_type(value)
    return actual == wanted or (wanted == "number" and actual == "integer")


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Walker:
    def __init__(self) -> None:
        self.causes: list[Cause] = []
        self.unknown: list[str] = []

    def fail(self, path: str, message: str, reason: str = "FieldValueInvalid") -> None:
        self.causes.append(Cause(reason, message, path))

    def walk(self, value: Any, schema: Schema, path: str) -> Any:
        """Check ``value`` and return it pruned of fields the schema does not declare."""
        if value is None and schema.get("nullable"):
            return None
        wanted = schema.get("type")
        int_or_string = schema.get("x-kubernetes-int-or-string")
        if int_or_string and json_type(value) not in ("integer", "string"):
            kind = json_type(value)
            self.fail(
                path,
                f'Invalid value: "{kind}": {path} in body must be of type integer-or-string',
                "FieldValueTypeInvalid",
            )
            return value
        if wanted and not int_or_string and not _type_matches(wanted, value):
            kind = json_type(value)
            self.fail(
                path,
                f'Invalid value: "{kind}": {path} in body must be of type {wanted}: "{kind}"',
                "FieldValueTypeInvalid",
            )
            return value
        self.check_value(value, schema, path)
        self.check_combinators(value, schema, path)
        if isinstance(value, dict):
            return self.walk_object(value, schema, path)
        if isinstance(value, list):
            items = schema.get("items")
            if isinstance(items, dict):
                return [self.walk(v, items, f"{path}[{n}]") for n, v in enumerate(value)]
        return value

    def walk_object(self, value: dict[str, Any], schema: Schema, path: str) -> dict[str, Any]:
        properties: dict[str, Schema] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get(_PRESERVE))
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        value = _with_defaults(value, properties)
        result: dict[str, Any] = {}
        for key, item in value.items():
            sub = properties.get(key)
            if sub is None and isinstance(additional, dict):
                sub = additional
                child = f"{path}[{key}]"
            else:
                child = _child(path, key)
            if item is None and not (sub or {}).get("nullable"):
                if sub is None and (preserve or additional is True):
                    result[key] = item
                continue
            if sub is not None:
                result[key] = self.walk(item, sub, child)
            elif preserve or additional is True or (embedded and key in _ROOT_FIELDS):
                result[key] = item
            else:
                self.unknown.append(child)
        for required in schema.get("required") or []:
            if required not in value:
                self.fail(_child(path, required), "Required value", "FieldValueRequired")
        return result

    def check_value(self, value: Any, schema: Schema, path: str) -> None:
        enum = schema.get("enum")
        if enum is not None and value not in enum:
            allowed = ", ".join(show(v) for v in enum)
            self.fail(
                path,
                f"Unsupported value: {show(value)}: supported values: {allowed}",
                "FieldValueNotSupported",
            )
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.check_bounds(value, schema, path)
        if isinstance(value, str):
            self.check_string(value, schema, path)
        if isinstance(value, list):
            self.check_items(value, schema, path)

    def check_bounds(self, value: float, schema: Schema, path: str) -> None:
        maximum, minimum = schema.get("maximum"), schema.get("minimum")
        if maximum is not None:
            exclusive = bool(schema.get("exclusiveMaximum"))
            if value > maximum or (exclusive and value == maximum):
                relation = "less than" if exclusive else "less than or equal to"
                self.fail(
                    path,
                    f"Invalid value: {show(value)}: {path} in body should be {relation} {maximum}",
                )
        if minimum is not None:
            exclusive = bool(schema.get("exclusiveMinimum"))
            if value < minimum or (exclusive and value == minimum):
                relation = "greater than" if exclusive else "greater than or equal to"
                self.fail(
                    path,
                    f"Invalid value: {show(value)}: {path} in body should be {relation} {minimum}",
                )

    def check_string(self, value: str, schema: Schema, path: str) -> None:
        max_length, min_length = schema.get("maxLength"), schema.get("minLength")
        if max_length is not None and len(value) > max_length:
            self.fail(path, f"Too long: may not be longer than {max_length}", "FieldValueTooLong")
        if min_length is not None and len(value) < min_length:
            self.fail(
                path,
                f"Invalid value: {show(value)}: {path} in body should be at least "
                f"{min_length} chars long",
            )
        pattern = schema.get("pattern")
        if pattern is not None and re.search(pattern, value) is None:
            self.fail(
                path, f"Invalid value: {show(value)}: {path} in body should match '{pattern}'"
            )

    def check_items(self, value: list[Any], schema: Schema, path: str) -> None:
        max_items, min_items = schema.get("maxItems"), schema.get("minItems")
        if max_items is not None and len(value) > max_items:
            self.fail(
                path,
                f"Too many: {len(value)}: must have at most {max_items} items",
                "FieldValueTooMany",
            )
        if min_items is not None and len(value) < min_items:
            self.fail(
                path,
                f"Invalid value: {len(value)}: {path} in body should have at least "
                f"{min_items} items",
            )

    def check_combinators(self, value: Any, schema: Schema, path: str) -> None:
        for sub in schema.get("allOf") or []:
            self.causes.extend(_check_only(value, sub, path))
        any_of = schema.get("anyOf")
        if any_of and all(_check_only(value, sub, path) for sub in any_of):
            self.fail(
                path, f"Invalid value: {show(value)}: {path} in body must match anyOf schemas"
            )
        one_of = schema.get("oneOf")
        if one_of:
            passing = sum(1 for sub in one_of if not _check_only(value, sub, path))
            if passing != 1:
                self.fail(
                    path,
                    f"Invalid value: {show(value)}: {path} in body must validate one and only one "
                    f"schema (oneOf), {passing} matched",
                )
        negated = schema.get("not")
        if isinstance(negated, dict) and not _check_only(value, negated, path):
            self.fail(path, f"Invalid value: {show(value)}: {path} in body should not match 'not'")


def _with_defaults(value: dict[str, Any], properties: dict[str, Schema]) -> dict[str, Any]:
    """Schema ``default`` values for absent fields (and for nulls that pruning would drop)."""
    filled = dict(value)
    for key, sub in properties.items():
        if not isinstance(sub, dict) or "default" not in sub:
            continue
        if key not in filled or (filled[key] is None and not sub.get("nullable")):
            filled[key] = copy.deepcopy(sub["default"])
    return filled


def _check_only(value: Any, schema: Schema, path: str) -> list[Cause]:
    """Failures of a value-only sub-schema (as inside anyOf/oneOf), without pruning."""
    walker = _Walker()
    open_schema = {**schema, _PRESERVE: True}
    walker.walk(value, open_schema, path)
    return walker.causes


def validate_object(obj: dict[str, Any], schema: Schema | None) -> Outcome:
    """Validate and prune a whole object (``apiVersion``, ``kind``, ``metadata`` always allowed)."""
    walker = _Walker()
    body = {k: v for k, v in obj.items() if k not in _ROOT_FIELDS}
    if schema is None:
        pruned: Any = body
    else:
        root = dict(schema)
        root.setdefault("type", "object")
        props = {k: v for k, v in (root.get("properties") or {}).items() if k not in _ROOT_FIELDS}
        root["properties"] = props
        root["required"] = [r for r in root.get("required") or [] if r not in _ROOT_FIELDS]
        pruned = walker.walk(body, root, "")
    metadata = obj.get("metadata") or {}
    for key in metadata:
        if key not in OBJECT_META_FIELDS:
            walker.unknown.append(f"metadata.{key}")
    result = {k: obj[k] for k in _ROOT_FIELDS if k in obj}
    if isinstance(pruned, dict):
        result.update(pruned)
    return Outcome(result, walker.causes, walker.unknown)
