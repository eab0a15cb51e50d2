"""What the operator commands do: check that a request can be honoured, then write it on the
TrafficShift for the controller to carry out at its next tick. Nothing here waits for that.

promote, promote --full, abort and retry write the intent annotations (``weightgate.dev/intent``,
``-id``, ``-by``; see ``controller.rollout.intents``); pause and resume set ``spec.paused``. Both
are merge patches guarded by the resourceVersion that was judged, so a shift that moved in
between answers 409 rather than receiving a request judged on a stale state.
"""

from __future__ import annotations

import getpass
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from controller.api.status import IntentAction, Phase
from controller.kube.errors import ConflictError, NotFoundError
from controller.operate.views import ShiftView, view_of
from controller.rollout import (
    INTENT_ANNOTATION,
    INTENT_BY_ANNOTATION,
    INTENT_ID_ANNOTATION,
    parse_intent,
    refusal,
)
from controller.routing import RoutingError, find_managed_route

ATTEMPTS = 5
_T = TypeVar("_T")


class RefusedError(Exception):
    """The request cannot be honoured in the shift's state; ``str(error)`` says why."""


class ShiftApi(Protocol):
    def get_shift(self, namespace: str, name: str) -> dict[str, Any]: ...

    def list_shifts(self, namespace: str | None = None) -> list[dict[str, Any]]: ...

    def get_virtual_service(self, namespace: str, name: str) -> dict[str, Any]: ...

    def patch_shift(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Requested:
    """A request written: what, on which shift, with which id."""

    namespace: str
    name: str
    what: str
    intent_id: str = ""


def operator_name() -> str:
    """Who is asking, as far as this client knows: user@host."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no $USER: still say where from
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _judged_afresh(attempt: Callable[[], _T]) -> _T:
    """Run `attempt` again when the shift changed between reading and writing (the controller
    writes its status every few seconds): each try judges the request on the state it writes."""
    for _ in range(ATTEMPTS - 1):
        try:
            return attempt()
        except ConflictError:
            continue
    return attempt()


def request_intent(
    api: ShiftApi, namespace: str, name: str, action: IntentAction, by: str
) -> Requested:
    """Write `action` on the shift, or RefusedError saying why it cannot be honoured."""
    return _judged_afresh(lambda: _request_intent(api, namespace, name, action, by))


def set_paused(api: ShiftApi, namespace: str, name: str, paused: bool) -> Requested:
    """Set spec.paused, or RefusedError when that would change nothing or mean nothing."""
    return _judged_afresh(lambda: _set_paused(api, namespace, name, paused))


def _request_intent(
    api: ShiftApi, namespace: str, name: str, action: IntentAction, by: str
) -> Requested:
    obj = api.get_shift(namespace, name)
    view = view_of(obj)
    _refuse_unless_idle(view)
    why = refusal(action, view.status)
    if why is not None:
        raise RefusedError(f"cannot {action.value} {namespace}/{name}: {why}")
    intent_id = str(uuid.uuid4())
    api.patch_shift(
        namespace,
        name,
        {
            "metadata": {
                "resourceVersion": obj["metadata"].get("resourceVersion"),
                "annotations": {
                    INTENT_ANNOTATION: action.value,
                    INTENT_ID_ANNOTATION: intent_id,
                    INTENT_BY_ANNOTATION: by,
                },
            }
        },
    )
    return Requested(namespace, name, action.value, intent_id)


def _set_paused(api: ShiftApi, namespace: str, name: str, paused: bool) -> Requested:
    obj = api.get_shift(namespace, name)
    view = view_of(obj)
    what = "pause" if paused else "resume"
    phase = view.status.phase
    if phase.is_final:
        raise RefusedError(f"cannot {what} {namespace}/{name}: the shift is {phase.value}")
    current = bool((obj.get("spec") or {}).get("paused", False))
    if current == paused:
        state = "already paused" if paused else "not paused (spec.paused is false)"
        hint = ""
        if not paused and phase is Phase.PAUSED:
            hint = (
                ": it is paused for drift; set the route's canary weight back to "
                f"{view.status.canary_weight}% to resume"
            )
        raise RefusedError(f"cannot {what} {namespace}/{name}: it is {state}{hint}")
    rv = obj["metadata"].get("resourceVersion")
    api.patch_shift(
        namespace, name, {"metadata": {"resourceVersion": rv}, "spec": {"paused": paused}}
    )
    return Requested(namespace, name, what)


def managed_route(api: ShiftApi, view: ShiftView) -> list[dict[str, Any]] | None:
    """The managed route's destinations as the VirtualService has them now (subset, weight)."""
    if view.shift is None:
        return None
    spec = view.shift.spec
    try:
        vs = api.get_virtual_service(view.namespace, spec.virtual_service)
        vs_spec = vs.get("spec") or {}
        found = find_managed_route(
            vs_spec, stable=spec.stable, canary=spec.canary, host=spec.host, route=spec.route
        )
    except (RoutingError, NotFoundError, LookupError):
        return None
    destinations = vs_spec["http"][found.index].get("route") or []
    return [
        {"subset": d.get("destination", {}).get("subset", ""), "weight": d.get("weight", 100)}
        for d in destinations
    ]


def _refuse_unless_idle(view: ShiftView) -> None:
    """One intent at a time: a second would overwrite the first before the controller saw it."""
    intent = parse_intent(view.obj["metadata"].get("annotations") or {})
    handled = view.status.last_intent
    if intent is None or (handled is not None and handled.id == intent.id):
        return
    who = f" by {intent.by}" if intent.by else ""
    raise RefusedError(
        f"{view.namespace}/{view.name} already has an intent '{intent.action.value}'{who} "
        "that the controller has not handled yet; wait for its next tick (is a controller or "
        "`weightgate run` driving this shift?)"
    )
