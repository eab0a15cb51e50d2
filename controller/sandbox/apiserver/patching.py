"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902), as the API server applies them.

A malformed JSON patch document is 400 BadRequest; a patch that cannot be applied (a failed
``test``, a missing path) is 422 with the reason in ``details.causes``, like the real server.
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError, bad_request

_JSON_PATCH_OPS = ("add", "remove", "replace", "move", "copy", "test")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _rejected(detail: str) -> ApiError:
    return ApiError(
        422,
        f"the server rejected our request due to an error in our request: {detail}",
        details={"causes": [{"reason": "UnexpectedServerResponse", "message": detail}]},
    )


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise bad_request(f'invalid JSON pointer "{path}": must be empty or start with "/"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _index(container: list[Any], part: str, path: str, *, insert: bool = False) -> int:
    if insert and part == "-":
        return len(container)
    if not part.isdigit():
        raise _rejected(f'invalid array index "{part}" in path "{path}"')
    index = int(part)
    limit = len(container) if insert else len(container) - 1
    if index > limit:
        raise _rejected(f'array index {index} out of bounds in path "{path}"')
    return index


def _parent(doc: Any, tokens: list[str], path: str) -> Any:
    current = doc
    for token in tokens[:-1]:
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list):
            current = current[_index(current, token, path)]
        else:
            raise _rejected(f'path "{path}" does not exist: missing "{token}"')
    return current


def _get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent, last = _parent(doc, tokens, path), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, path)]
    raise _rejected(f'path "{path}" does not exist')


def _add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent, last = _parent(doc, tokens, path), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, path, insert=True), value)
    else:
        raise _rejected(f'cannot add at "{path}": parent is not an object or array')
    return doc


def _remove(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise _rejected("cannot remove the whole document")
    parent, last = _parent(doc, tokens, path), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(parent, last, path)]
    else:
        raise _rejected(f'cannot remove "{path}": it does not exist')
    return doc


def _string(operation: dict[str, Any], key: str, number: int) -> str:
    value = operation.get(key)
    if not isinstance(value, str):
        raise bad_request(f'json patch operation {number} needs "{key}": a JSON pointer string')
    return value


def _apply_operation(doc: Any, operation: Any, number: int) -> Any:
    if not isinstance(operation, dict) or operation.get("op") not in _JSON_PATCH_OPS:
        ops = ", ".join(_JSON_PATCH_OPS)
        raise bad_request(f"json patch operation {number} is invalid: needs op, one of {ops}")
    op, path = operation["op"], _string(operation, "path", number)
    if op in ("add", "replace", "test") and "value" not in operation:
        raise bad_request(f'json patch operation {number} ("{op}" at {path}) needs a "value"')
    if op == "add":
        return _add(doc, path, copy.deepcopy(operation["value"]))
    if op == "remove":
        return _remove(doc, path)
    if op == "replace":
        _get(doc, path)
        return _add(_remove(doc, path), path, copy.deepcopy(operation["value"]))
    if op == "test":
        actual = _get(doc, path)
        if actual != operation["value"] or type(actual) is not type(operation["value"]):
            raise _rejected(
                f"testing value {path} failed: expected {operation['value']!r}, found {actual!r}"
            )
        return doc
    source = _string(operation, "from", number)
    value = copy.deepcopy(_get(doc, source))
    if op == "move":
        doc = _remove(doc, source)
    return _add(doc, path, value)


def json_patch(target: Any, patch: Any) -> Any:
    """RFC 6902: apply every operation in order to a copy of ``target``, or fail as a whole."""
    if not isinstance(patch, list):
        raise bad_request("a json patch must be a JSON array of operations")
    doc = copy.deepcopy(target)
    for number, operation in enumerate(patch):
        doc = _apply_operation(doc, operation, number)
    return doc
