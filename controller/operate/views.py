"""What `weightgate status` and `history` show: a computed view of a TrafficShift, as a
stable document (``-o json|yaml``) and as text that fits an 80-column terminal.

The document (`shift_document`) is the TrafficShift's ``spec`` and ``status`` as stored, plus
computed keys: ``namespace``, ``name``, ``phase``, ``step``, ``steps``, ``weight``, ``gates``
(``{passing, failing, unsettled}``), ``ageSeconds``, ``nextStepInSeconds``, ``pendingIntent``
and, for one shift, ``route`` (the managed route's destinations as the VirtualService has them
now). Keys are only ever added, never renamed; the README documents them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from controller.api.durations import format_duration
from controller.api.status import GateVerdict, HistoryEntry, Phase, TrafficShiftStatus
from controller.api.trafficshift import TrafficShift
from controller.rollout import dwell_started_at, parse_intent

WIDTH = 80


@dataclass(frozen=True)
class ShiftView:
    """One TrafficShift as read, with what the views compute from it."""

    obj: dict[str, Any]
    shift: TrafficShift | None  # None: the spec does not parse (the shift is Invalid)
    status: TrafficShiftStatus

    @property
    def namespace(self) -> str:
        return str(self.obj["metadata"].get("namespace", ""))

    @property
    def name(self) -> str:
        return str(self.obj["metadata"]["name"])

    @property
    def steps(self) -> int:
        return len(self.shift.spec.steps) if self.shift else 0


def view_of(obj: dict[str, Any]) -> ShiftView:
    """The view of a TrafficShift object; never raises on a bad spec or status."""
    try:
        status = TrafficShiftStatus.model_validate(obj.get("status") or {})
    except ValidationError:
        status = TrafficShiftStatus(phase=Phase.INVALID, message="status unreadable")
    try:
        shift: TrafficShift | None = TrafficShift.model_validate(
            {k: v for k, v in obj.items() if k != "status"}
        )
    except ValidationError:
        shift = None
    return ShiftView(obj, shift, status)


def gate_counts(status: TrafficShiftStatus) -> dict[str, int]:
    verdicts = [g.verdict for g in status.gates]
    passing = verdicts.count(GateVerdict.PASS)
    failing = verdicts.count(GateVerdict.FAIL)
    return {"passing": passing, "failing": failing, "unsettled": len(verdicts) - passing - failing}


def age_seconds(view: ShiftView, now: datetime) -> float | None:
    created = view.obj["metadata"].get("creationTimestamp")
    if not created:
        return None
    return max(0.0, (now - datetime.fromisoformat(str(created))).total_seconds())


def next_step_in(view: ShiftView, now: datetime) -> float | None:
    """Seconds until the step may advance, if checks keep passing; None when not counting."""
    status = view.status
    if view.shift is None or status.phase is not Phase.PROGRESSING:
        return None
    start = dwell_started_at(status)
    if start is None:
        return None
    left = view.shift.spec.interval - (now - start)
    return max(0.0, left.total_seconds())


def shift_document(
    view: ShiftView, now: datetime, route: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The stable machine-readable view of one shift (see the module docstring)."""
    intent = parse_intent(view.obj["metadata"].get("annotations") or {})
    handled = view.status.last_intent
    pending = None
    if intent is not None and (handled is None or handled.id != intent.id):
        pending = {"id": intent.id, "action": intent.action.value, "by": intent.by}
    document: dict[str, Any] = {
        "namespace": view.namespace,
        "name": view.name,
        "phase": view.status.phase.value,
        "step": view.status.current_step,
        "steps": view.steps,
        "weight": view.status.canary_weight,
        "gates": gate_counts(view.status),
        "ageSeconds": age_seconds(view, now),
        "nextStepInSeconds": next_step_in(view, now),
        "pendingIntent": pending,
        "spec": view.obj.get("spec") or {},
        "status": view.obj.get("status") or {},
    }
    if route is not None:
        document["route"] = route
    return document


def short_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 120:
        return f"{whole}s"
    if whole < 7200:
        return f"{whole // 60}m"
    if whole < 172800:
        return f"{whole // 3600}h"
    return f"{whole // 86400}d"


_TABLE = "{ns:<12} {name:<20} {phase:<11} {step:>5} {weight:>6} {gates:>6} {age:>5}"


def render_table(views: Sequence[ShiftView], now: datetime) -> str:
    """Every shift on one line each: namespace, name, phase, step x/y, weight, gates, age."""
    header = _TABLE.format(
        ns="NAMESPACE", name="NAME", phase="PHASE", step="STEP", weight="WEIGHT", gates="GATES",
        age="AGE",
    )  # fmt: skip
    lines = [header]
    for view in views:
        counts = gate_counts(view.status)
        lines.append(
            _TABLE.format(
                ns=_clip(view.namespace, 12),
                name=_clip(view.name, 20),
                phase=view.status.phase.value,
                step=f"{view.status.current_step}/{view.steps}",
                weight=f"{view.status.canary_weight}%",
                gates=f"{counts['passing']}/{counts['failing']}",
                age=short_duration(age_seconds(view, now)),
            )
        )
    if not views:
        lines.append("(no TrafficShifts)")
    return "\n".join(lines)


def render_history(entries: Sequence[HistoryEntry]) -> list[str]:
    """The transitions, oldest first: time, time since the previous one, step, weight, reason,
    then the message wrapped under it."""
    lines = [f"{'TIME':<9} {'+AFTER':>7} {'STEP':>4} {'WEIGHT':>6}  REASON"]
    previous: datetime | None = None
    for entry in entries:
        after = "" if previous is None else short_duration((entry.time - previous).total_seconds())
        previous = entry.time
        lines.append(
            f"{entry.time.strftime('%H:%M:%S'):<9} {after:>7} {entry.step:>4} "
            f"{entry.weight:>5}%  {entry.reason}"
        )
        lines.extend(wrap(entry.message, indent=4))
    if not entries:
        lines.append("(no transitions yet)")
    return lines


def wrap(text: str, indent: int = 2) -> list[str]:
    if not text:
        return []
    pad = " " * indent
    return textwrap.wrap(text, WIDTH, initial_indent=pad, subsequent_indent=pad) or [pad]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"


__all__ = [
    "WIDTH",
    "ShiftView",
    "format_duration",
    "render_history",
    "render_table",
    "shift_document",
    "short_duration",
    "view_of",
    "wrap",
]
