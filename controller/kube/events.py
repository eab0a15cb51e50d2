"""Kubernetes Events about a TrafficShift, as ``kubectl describe`` shows them.

Built as plain core/v1 Event objects (pure); ``KubeClient.create`` posts them. Event names are
unique per transition so two events in the same second never collide.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

COMPONENT = "weightgate"


def _digest(reason: str, message: str) -> str:
    return hashlib.sha256(f"{reason}\n{message}".encode()).hexdigest()[:8]


def format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def shift_event(
    shift: dict[str, Any],
    *,
    reason: str,
    message: str,
    warning: bool,
    now: datetime,
    instance: str,
) -> dict[str, Any]:
    """A core/v1 Event whose involvedObject is ``shift`` (a TrafficShift as read)."""
    meta = shift["metadata"]
    stamp = format_time(now)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            # Time plus a digest of what is said: two events of one tick never share a name.
            "name": f"{meta['name']}.{int(now.timestamp() * 1e6):x}.{_digest(reason, message)}",
            "namespace": meta["namespace"],
        },
        "involvedObject": {
            "apiVersion": shift.get("apiVersion", ""),
            "kind": shift.get("kind", "TrafficShift"),
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": reason,
        # The API server rejects Event messages above 1 KiB; keep the start, which says what.
        "message": message[:1024],
        "type": "Warning" if warning else "Normal",
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance,
        "action": reason,
    }
