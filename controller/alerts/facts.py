"""What the reconcile tick tells the alerting package about a shift, and what an alert keeps.

`ShiftFacts` is the input: the shift's identity and where it stood when the transitions
happened. `alert_facts` turns it plus one transition into the `AlertFacts` an outbox entry
keeps. The weight reported for a rollback is the canary weight before the rollback (the status
after it says 0), and the gate reported is the one that failed or could not judge.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from controller.alerts.pending import MAX_MESSAGE_CHARS, MAX_QUERY_CHARS, AlertFacts, GateFacts
from controller.api.status import GateStatus, GateVerdict, TrafficShiftStatus
from controller.api.trafficshift import AlertEvent, TrafficShift

# Events whose alert names a gate: the ones a gate's verdict caused.
_GATE_EVENTS = (AlertEvent.ROLLBACK, AlertEvent.HOLDING)
# Most telling first: a failure, then an error, then missing data.
_GATE_ORDER = (GateVerdict.FAIL, GateVerdict.ERROR, GateVerdict.INCONCLUSIVE)


class AlertTrigger(Protocol):
    """A state-machine transition as alerting sees it (``controller.rollout.Transition`` is one)."""

    @property
    def reason(self) -> str: ...

    @property
    def message(self) -> str: ...

    @property
    def alert_event(self) -> AlertEvent | None: ...


@dataclass(frozen=True)
class ShiftFacts:
    namespace: str
    name: str
    generation: int
    virtual_service: str
    canary: str
    stable: str
    step: int
    steps: int
    weight: int
    gates: tuple[GateStatus, ...] = ()

    @classmethod
    def of(
        cls,
        shift: TrafficShift,
        previous: TrafficShiftStatus | None,
        current: TrafficShiftStatus,
    ) -> ShiftFacts:
        """Facts from the shift, its recorded status and the status the tick decided.

        A rollback leaves weight 0 (and a spec change also step 0) in `current`, so both are
        taken from `previous` then: the alert reports where the canary stood when it failed.
        """
        before = previous if previous is not None else current
        weight = current.canary_weight or before.canary_weight
        return cls(
            namespace=shift.metadata.namespace or "default",
            name=shift.metadata.name,
            generation=shift.metadata.generation or 0,
            virtual_service=shift.spec.virtual_service,
            canary=shift.spec.canary,
            stable=shift.spec.stable,
            step=current.current_step or before.current_step,
            steps=len(shift.spec.steps),
            weight=weight,
            gates=tuple(current.gates),
        )


def blamed_gate(gates: Sequence[GateStatus]) -> GateStatus | None:
    """The gate an alert names: the first failing one, else erroring, else inconclusive."""
    for verdict in _GATE_ORDER:
        for gate in gates:
            if gate.verdict is verdict:
                return gate
    return None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _gate_facts(facts: ShiftFacts, event: AlertEvent) -> GateFacts | None:
    gate = blamed_gate(facts.gates) if event in _GATE_EVENTS else None
    if gate is None:
        return None
    finite = gate.value is not None and math.isfinite(gate.value)
    return GateFacts(
        name=gate.name,
        value=gate.value if finite else None,  # NaN/Inf would make the JSON bodies invalid
        threshold=gate.threshold,
        query=_clip(gate.query, MAX_QUERY_CHARS),
        evidence=_clip(gate.message, MAX_MESSAGE_CHARS) if gate.evidence is not None else "",
    )


def alert_facts(facts: ShiftFacts, trigger: AlertTrigger, event: AlertEvent) -> AlertFacts:
    return AlertFacts(
        namespace=facts.namespace,
        shift=facts.name,
        virtual_service=facts.virtual_service,
        generation=facts.generation,
        canary=facts.canary,
        stable=facts.stable,
        step=facts.step,
        steps=facts.steps,
        weight=facts.weight,
        reason=trigger.reason,
        message=_clip(trigger.message, MAX_MESSAGE_CHARS),
        gate=_gate_facts(facts, event),
    )
