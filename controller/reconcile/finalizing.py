"""The controller's finalizer on a TrafficShift, so that deleting a shift never leaves its canary
exposed without anyone deciding so.

The finalizer (``api.trafficshift.FINALIZER``) is added by the tick whose decision sends the
first traffic to the canary, before the route is written, and removed once the shift has ended
(promoted or rolled back, the write confirmed and its alerts sent). A shift deleted in between
is only marked by the API server; its next tick carries out ``spec.onDelete``
(``rollout.deletion``), and then lets the delete finish. Alerts still owed hold the delete for
at most `DELETE_ALERT_GRACE`: a deleted object is not kept for a day because a receiver is down;
what was not delivered is named in a Warning Event and in the log.

The daemon and pipeline mode (``weightgate run``) add it (``Dependencies.finalizers``). A run
that stops mid-shift (``--timeout``, Ctrl-C, a crash) leaves it: the shift is still mid-shift,
and the next run (or a daemon) carries out a delete made meanwhile. Each patch carries the
resourceVersion it was computed from, so a concurrent change answers 409 and the tick is redone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from controller.api.trafficshift import FINALIZER
from controller.reconcile.ports import Cluster

DELETE_ALERT_GRACE = timedelta(minutes=10)


def finalizers(obj: dict[str, Any]) -> list[str]:
    found = (obj.get("metadata") or {}).get("finalizers") or []
    return [str(f) for f in found] if isinstance(found, list) else []


def has_finalizer(obj: dict[str, Any]) -> bool:
    return FINALIZER in finalizers(obj)


def deleting_since(obj: dict[str, Any]) -> datetime | None:
    """When the shift was deleted (the API server's deletionTimestamp), None if it was not."""
    raw = (obj.get("metadata") or {}).get("deletionTimestamp")
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)  # unreadable: as if long ago
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def alerts_overdue(obj: dict[str, Any], now: datetime) -> bool:
    """Whether a deleted shift has waited `DELETE_ALERT_GRACE` for its alerts already."""
    since = deleting_since(obj)
    return since is not None and now - since >= DELETE_ALERT_GRACE


def _guard(obj: dict[str, Any]) -> dict[str, Any]:
    version = obj["metadata"].get("resourceVersion")
    return {"op": "replace", "path": "/metadata/resourceVersion", "value": version}


def add(cluster: Cluster, obj: dict[str, Any]) -> dict[str, Any]:
    """The shift with the finalizer (patched only when it lacks it and is not being deleted:
    a real API server refuses new finalizers on an object being deleted)."""
    if has_finalizer(obj) or deleting_since(obj) is not None:
        return obj
    meta = obj["metadata"]
    operation: dict[str, Any]
    if isinstance(meta.get("finalizers"), list):
        operation = {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER}
    else:
        operation = {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}
    return cluster.patch_shift(meta["namespace"], meta["name"], [_guard(obj), operation])


def remove(cluster: Cluster, obj: dict[str, Any]) -> dict[str, Any]:
    """The shift without the finalizer (for a shift being deleted, the object as it went)."""
    present = finalizers(obj)
    if FINALIZER not in present:
        return obj
    index = present.index(FINALIZER)
    path = f"/metadata/finalizers/{index}"
    operations = [
        _guard(obj),
        {"op": "test", "path": path, "value": FINALIZER},
        {"op": "remove", "path": path},
    ]
    meta = obj["metadata"]
    return cluster.patch_shift(meta["namespace"], meta["name"], operations)
