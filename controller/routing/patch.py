"""The JSON patch (RFC 6902) that writes a new managed route and nothing else.

The patch first `test`s the managed route against the value the decision was based on, so the API
server refuses the write (HTTP 422) when someone changed the route in between, instead of
weightgate overwriting their edit. Only `/spec/http/{i}/route` is touched: the rest of the
VirtualService, including edits made meanwhile elsewhere in it, is left to its owners.
"""

from __future__ import annotations

import copy
from typing import Any

from controller.routing.model import ManagedRoute, Spec, http_routes


def route_patch(old_spec: Spec, new_spec: Spec, managed: ManagedRoute) -> list[dict[str, Any]]:
    """`test` the old managed route, then `replace` it with the new one; paths on the object.

    Raises ValueError when the two specs differ anywhere but the managed route: such a patch
    would not produce `new_spec`, so asking for it is a programming error.
    """
    old_route = _route_at(old_spec, managed.index)
    new_route = _route_at(new_spec, managed.index)
    if _without_route(old_spec, managed.index) != _without_route(new_spec, managed.index):
        raise ValueError(
            f"route_patch: the specs differ outside spec.http[{managed.index}].route; a route "
            "patch cannot express that"
        )
    path = f"/spec/http/{managed.index}/route"
    return [
        {"op": "test", "path": path, "value": copy.deepcopy(old_route)},
        {"op": "replace", "path": path, "value": copy.deepcopy(new_route)},
    ]


def _route_at(spec: Spec, index: int) -> Any:
    http = http_routes(spec)
    if not 0 <= index < len(http) or "route" not in http[index]:
        raise ValueError(f"route_patch: the spec has no spec.http[{index}].route")
    return http[index]["route"]


def _without_route(spec: Spec, index: int) -> dict[str, Any]:
    stripped = copy.deepcopy(dict(spec))
    del stripped["http"][index]["route"]
    return stripped
