"""Turning validation failures into problems a user can act on.

A ``Problem`` names the file, the document in it, the field path (``spec.steps[1]``) and a
message that says what to do. Pydantic's own wording is rewritten where it would leave a user
guessing (unknown fields, missing fields).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

SHOWN_CHARACTERS = 200  # the most of a user's input a message echoes


def shown(value: object, limit: int = SHOWN_CHARACTERS) -> str:
    """``repr(value)`` for a message, clipped: a message must never echo a megabyte of input."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


@dataclass(frozen=True)
class Problem:
    source: str
    document: int  # 1-based position in a multi-document file
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source} (document {self.document})"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


def field_path(loc: Sequence[int | str]) -> str:
    """``('spec', 'steps', 1)`` -> ``spec.steps[1]``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _known_fields(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """Wire names of the fields allowed at ``loc`` (for did-you-mean hints)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return []
        match = next(
            (f for n, f in fields.items() if part in (n, f.alias)),
            None,
        )
        if match is None:
            return [f.alias or n for n, f in fields.items()]
        current = _model_in(match.annotation)
    fields = getattr(current, "model_fields", None)
    return [f.alias or n for n, f in fields.items()] if fields else []


def _model_in(annotation: Any) -> Any:
    """The BaseModel class inside ``X``, ``X | None`` or ``list[X]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _message(error: ErrorDetails, model: type[BaseModel]) -> str:
    kind = error["type"]
    loc = error["loc"]
    name = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        known = _known_fields(model, loc[:-1])
        close = get_close_matches(name, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"allowed: {', '.join(known)}"
        return f"unknown field '{name}': remove it or fix the spelling ({hint})"
    if kind == "missing":
        return f"required field '{name}' is missing: add it"
    text = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    given = error.get("input")
    if kind in ("int_type", "float_type", "bool_type") and isinstance(given, str):
        return f"{text} (got the string {shown(given)}: write the value without quotes)"
    if kind in ("int_type", "float_type") and isinstance(given, bool):
        return f"{text} (got {str(given).lower()}, a boolean: write a number)"
    if kind == "finite_number":
        return f"{text} (got {given}): NaN and infinities are not thresholds"
    if kind.endswith(("_type", "_parsing")) or kind == "literal_error":
        text = f"{text} (got {shown(given)})"
    return text


def problems_from(
    exc: ValidationError, model: type[BaseModel], *, source: str, document: int
) -> list[Problem]:
    return [
        Problem(source, document, field_path(e["loc"]), _message(e, model)) for e in exc.errors()
    ]
