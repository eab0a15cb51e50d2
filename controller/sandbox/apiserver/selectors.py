"""Label and field selectors: parsing the query-string forms and matching objects.

Label selectors take every operator the real server does (``=``, ``==``, ``!=``, ``in``,
``notin``, ``key`` and ``!key``). Field selectors take ``=``, ``==`` and ``!=`` on any dotted path
(``metadata.name``, ``metadata.namespace``, ``status.phase``...), a superset of what real
built-ins allow, which is harmless for a sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]
_SET_EXPR = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\((.*)\)\s*$")


def _split_requirements(text: str) -> list[str]:
    """Split on commas that are not inside ``in (...)`` value lists."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _label_requirement(text: str) -> Matcher:
    set_match = _SET_EXPR.match(text)
    if set_match:
        key, op, values_text = set_match.groups()
        values = {v.strip() for v in values_text.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in text:
            key, value = (s.strip() for s in text.split(op, 1))
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if text.startswith("!"):
        key = text[1:].strip()
        return lambda labels: key not in labels
    if re.fullmatch(r"[A-Za-z0-9._/-]+", text):
        return lambda labels: text in labels
    raise bad_request(f'unable to parse requirement: found "{text}", expected a label selector')


def label_matcher(selector: str | None) -> Matcher:
    """A predicate over whole objects for a ``labelSelector`` query value."""
    if not selector:
        return lambda _obj: True
    requirements = [_label_requirement(r) for r in _split_requirements(selector)]

    def matches(obj: dict[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(requirement(labels) for requirement in requirements)

    return matches


def _field_value(obj: dict[str, Any], path: str) -> str:
    current: Any = obj
    for part in path.split("."):
        current = current.get(part) if isinstance(current, dict) else None
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def _field_requirement(text: str) -> Matcher:
    for op in ("!=", "==", "="):
        if op in text:
            path, value = (s.strip() for s in text.split(op, 1))
            if op == "!=":
                return lambda obj: _field_value(obj, path) != value
            return lambda obj: _field_value(obj, path) == value
    raise bad_request(f'invalid field selector: "{text}": expected key=value or key!=value')


def field_matcher(selector: str | None) -> Matcher:
    """A predicate over whole objects for a ``fieldSelector`` query value."""
    if not selector:
        return lambda _obj: True
    requirements = [_field_requirement(r) for r in selector.split(",") if r.strip()]
    return lambda obj: all(requirement(obj) for requirement in requirements)
