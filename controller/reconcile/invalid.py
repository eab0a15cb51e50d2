"""Recording that a TrafficShift cannot run: phase Invalid, a message that says what to fix, a
Warning event - and no write to its VirtualService.

Works on the raw status dict, because one reason for invalidity is a status this controller
cannot read. The same problem at the same generation is recorded once, not on every tick.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from controller.api.status import Phase
from controller.kube.events import format_time
from controller.reconcile.outcome import TickOutcome
from controller.reconcile.ports import Dependencies
from controller.telemetry import get_logger

INVALID_REASON = "InvalidSpec"


def _invalid_status(
    raw: dict[str, Any], message: str, generation: int, now: datetime, history_limit: int
) -> dict[str, Any]:
    stamp = format_time(now)
    history = [
        *list(raw.get("history") or []),
        {
            "time": stamp,
            "phase": Phase.INVALID.value,
            "step": int(raw.get("currentStep") or 0),
            "weight": int(raw.get("canaryWeight") or 0),
            "reason": INVALID_REASON,
            "message": message,
        },
    ][-history_limit:]
    others = [c for c in raw.get("conditions") or [] if c.get("type") != "Valid"]
    valid = {
        "type": "Valid",
        "status": "False",
        "reason": INVALID_REASON,
        "message": message,
        "lastTransitionTime": stamp,
        "observedGeneration": generation,
    }
    return {
        **raw,
        "phase": Phase.INVALID.value,
        "message": message,
        "observedGeneration": generation,
        "history": history,
        "conditions": [*others, valid],
    }


def mark_invalid(
    deps: Dependencies, obj: dict[str, Any], message: str, now: datetime
) -> TickOutcome:
    meta = obj["metadata"]
    namespace, name = str(meta["namespace"]), str(meta["name"])
    generation = int(meta.get("generation") or 1)
    raw = dict(obj.get("status") or {})
    already = (
        raw.get("phase") == Phase.INVALID.value
        and raw.get("message") == message
        and raw.get("observedGeneration") == generation
    )
    if not already:
        status = _invalid_status(raw, message, generation, now, deps.policy.history_limit)
        recorded = deps.cluster.replace_shift_status({**obj, "status": status})
        get_logger(shift=name, namespace=namespace).warning("shift.invalid", message=message)
        deps.cluster.record_event(
            recorded, reason=INVALID_REASON, message=message, warning=True, now=now
        )
    return TickOutcome(
        namespace,
        name,
        Phase.INVALID,
        weight=int(raw.get("canaryWeight") or 0),
        step=int(raw.get("currentStep") or 0),
        message=message,
    )
