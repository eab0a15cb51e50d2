"""A tiny RFC 6902 applier (test, add, remove, replace) for checking the patches routing emits."""

from __future__ import annotations

import copy
from typing import Any


class PatchTestError(AssertionError):
    """A `test` operation found a different value: the server would refuse the whole patch."""


def apply_patch(document: Any, patch: list[dict[str, Any]]) -> Any:
    result = copy.deepcopy(document)
    for op in patch:
        result = _apply(result, op)
    return result


def _apply(document: Any, op: dict[str, Any]) -> Any:
    tokens = _tokens(op["path"])
    if not tokens:
        if op["op"] == "test":
            _test(document, op["value"], op["path"])
            return document
        return copy.deepcopy(op["value"])
    parent = _resolve(document, tokens[:-1])
    key: Any = tokens[-1]
    if isinstance(parent, list):
        key = len(parent) if key == "-" else int(key)
    kind = op["op"]
    if kind == "test":
        _test(parent[key], op["value"], op["path"])
    elif kind == "remove":
        del parent[key]
    elif kind == "add" and isinstance(parent, list):
        parent.insert(key, copy.deepcopy(op["value"]))
    elif kind == "add":
        parent[key] = copy.deepcopy(op["value"])
    elif kind == "replace":
        _require(parent, key, op["path"])
        parent[key] = copy.deepcopy(op["value"])
    else:
        raise ValueError(f"unsupported op {kind!r}")
    return document


def _test(actual: Any, expected: Any, path: str) -> None:
    if actual != expected:
        raise PatchTestError(f"test failed at {path}: {actual!r} != {expected!r}")


def _require(parent: Any, key: Any, path: str) -> None:
    exists = 0 <= key < len(parent) if isinstance(parent, list) else key in parent
    if not exists:
        raise KeyError(f"replace needs an existing target (RFC 6902): nothing at {path}")


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    assert pointer.startswith("/"), pointer
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _resolve(document: Any, tokens: list[str]) -> Any:
    node = document
    for token in tokens:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node
