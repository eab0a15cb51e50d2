"""List requests: selectors, resourceVersion semantics and limit/continue paging.

``resourceVersion`` with ``resourceVersionMatch=Exact`` serves the list as it was at that
version (rebuilt from the event history; 410 Expired once that history is gone); any other
resourceVersion serves the current state, which satisfies "not older than". Continue tokens
remember the list's resourceVersion and expire with the history like the real server's.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import JsonObject, bad_request, gone
from .selectors import field_matcher, label_matcher

if TYPE_CHECKING:
    from .store import Store
    from .writes import Target


@dataclass(frozen=True)
class ListQuery:
    """The query parameters that shape a list (and the initial state of a watch)."""

    label_selector: str = ""
    field_selector: str = ""
    resource_version: str = ""
    resource_version_match: str = ""
    limit: int = 0
    continue_token: str = ""


def _encode_continue(rv: int, after: tuple[str, str]) -> str:
    raw = json.dumps({"rv": rv, "after": list(after)}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["after"][0]), str(data["after"][1]))
    except (binascii.Error, ValueError, KeyError, IndexError, TypeError) as error:
        raise bad_request(
            f"continue key is not valid: {error}; start the list again without ?continue"
        ) from error


def _parse_rv(text: str) -> int:
    try:
        return int(text)
    except ValueError as error:
        raise bad_request(f'invalid resourceVersion "{text}": must be a decimal integer') from error


def matching_objects(
    store: Store, target: Target, query: ListQuery
) -> tuple[int, list[JsonObject]]:
    """The list's resourceVersion and the objects it holds, before paging."""
    group, plural = target.type.group, target.type.plural
    namespace = target.namespace if target.type.namespaced and target.namespace else None
    with store.locked():
        current = store.resource_version
        if query.resource_version_match == "Exact" and query.resource_version:
            at = _parse_rv(query.resource_version)
            items = store.list_at(group, plural, min(at, current))
            current = at
        else:
            items = store.objects(group, plural)
    labels, fields = label_matcher(query.label_selector), field_matcher(query.field_selector)
    selected = [
        obj
        for obj in items
        if (namespace is None or obj["metadata"].get("namespace") == namespace)
        and labels(obj)
        and fields(obj)
    ]
    return current, selected


def list_objects(
    store: Store,
    target: Target,
    query: ListQuery,
    render: Callable[[JsonObject, Target], JsonObject],
) -> JsonObject:
    """The List object a GET on a collection answers."""
    after: tuple[str, str] | None = None
    if query.continue_token:
        token_rv, after = _decode_continue(query.continue_token)
        if token_rv < store.compacted_rv:
            raise gone(
                "The provided continue parameter is too old to display a consistent list "
                "result. You can start a new list without the continue parameter."
            )
    list_rv, selected = matching_objects(store, target, query)
    if after is not None:
        selected = [
            o
            for o in selected
            if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after
        ]
    metadata: JsonObject = {"resourceVersion": str(list_rv)}
    if query.limit and len(selected) > query.limit:
        last = selected[query.limit - 1]["metadata"]
        metadata["continue"] = _encode_continue(list_rv, (last.get("namespace", ""), last["name"]))
        metadata["remainingItemCount"] = len(selected) - query.limit
        selected = selected[: query.limit]
    return {
        "kind": target.type.list_kind_name,
        "apiVersion": target.type.api_version(target.version),
        "metadata": metadata,
        "items": [render(obj, target) for obj in selected],
    }
