"""The detailed text view of one shift (`weightgate status NAME`), 80 columns wide: the spec in
a line, where the shift stands, the route as the VirtualService has it now, each gate against
its threshold, conditions, the last operator intent and the history of transitions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from controller.api.durations import format_duration
from controller.api.status import GateStatus
from controller.operate.views import (
    ShiftView,
    next_step_in,
    render_history,
    short_duration,
    wrap,
)


def render_detail(view: ShiftView, route: list[dict[str, Any]] | None, now: datetime) -> str:
    lines = [f"TrafficShift {view.namespace}/{view.name}: {view.status.phase.value}"]
    lines.extend(_summary(view, now))
    lines.append("  route now:  " + _route_text(route))
    lines.extend(_gates(view.status.gates))
    lines.extend(_conditions(view))
    intent = view.status.last_intent
    if intent is not None:
        who = f" by {intent.by}" if intent.by else ""
        lines.append(
            f"Last intent: {intent.action.value}{who} at "
            f"{intent.handled_at.strftime('%H:%M:%S')}: {intent.outcome}"
        )
    if view.status.message:
        lines.append("Message:")
        lines.extend(wrap(view.status.message))
    lines.append("History:")
    lines.extend("  " + line for line in render_history(view.status.history[-10:]))
    return "\n".join(line[:80] if len(line) > 80 else line for line in lines)


def _summary(view: ShiftView, now: datetime) -> list[str]:
    status = view.status
    if view.shift is None:
        return ["  spec:       does not parse (see Message)"]
    spec = view.shift.spec
    steps = ",".join(str(s) for s in spec.steps)
    paused = " (spec.paused)" if spec.paused else ""
    analysis = spec.analysis
    lines = [
        f"  shift:      VirtualService {spec.virtual_service}: {spec.stable} -> {spec.canary}",
        f"  steps:      {steps}% every {format_duration(spec.interval)}{paused}",
        f"  at:         step {status.current_step}/{len(spec.steps)}, "
        f"{status.canary_weight}% to {spec.canary}",
    ]
    if any(gate.judge == "sequential" for gate in status.gates) or (
        not status.gates and analysis.judge.value == "sequential"
    ):
        lines.append(
            f"  judge:      sequential, confidence {analysis.confidence:g}: rolls back when a "
            "gate's evidence reaches its bound"
        )
    else:
        lines.append(
            f"  checks:     {status.failed_checks} failed in a row of "
            f"{analysis.failure_limit} allowed"
        )
    left = next_step_in(view, now)
    if left is not None:
        lines.append(f"  next step:  in {short_duration(left)} if checks keep passing")
    return lines


def _route_text(route: list[dict[str, Any]] | None) -> str:
    if route is None:
        return "unknown (VirtualService or route not found)"
    parts = [f"{d.get('subset', '?')} {d.get('weight', 100)}%" for d in route]
    return ", ".join(parts) or "no destinations"


def _gates(gates: list[GateStatus]) -> list[str]:
    if not gates:
        return ["Gates: not checked at this step yet"]
    lines = ["Gates:", f"  {'GATE':<18} {'VALUE':>10} {'STABLE':>10} {'THRESHOLD':<20} VERDICT"]
    for gate in gates:
        lines.append(
            f"  {gate.name[:18]:<18} {_number(gate.value):>10} {_number(gate.stable_value):>10} "
            f"{gate.threshold[:20]:<20} {gate.verdict.value}"
        )
        if gate.message:
            lines.extend(wrap(gate.message, indent=4))
    return lines


def _conditions(view: ShiftView) -> list[str]:
    if not view.status.conditions:
        return []
    lines = ["Conditions:"]
    for condition in view.status.conditions:
        lines.append(f"  {condition.type:<12} {condition.status:<8} {condition.reason}")
    return lines


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
