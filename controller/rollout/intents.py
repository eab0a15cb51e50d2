"""Operator intents: promote, promote-full, abort and retry, carried out once each.

An operator (``weightgate promote|abort|retry``) writes three annotations on the TrafficShift:
``weightgate.dev/intent`` (the action), ``weightgate.dev/intent-id`` (a fresh id per request)
and ``weightgate.dev/intent-by`` (who asked). The reconcile loop hands the parsed `Intent` to
`decide` in the `Observation`; this module turns it into an `Outcome` and records the handled id
in ``status.lastIntent``. Because the id lives in the status, written before the VirtualService,
a redone tick or a restarted controller sees the id as handled and never acts on it twice.

Intents are honoured only where they make sense; anything else is recorded as Refused with the
reason (the CLI refuses the same cases up front, this covers the shift moving in between).
Pause and resume are not intents: they are ``spec.paused``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from controller.api.status import HandledIntent, IntentAction, Phase, TrafficShiftStatus
from controller.rollout import lifecycle, transitions
from controller.rollout.decision import Action, Intent
from controller.rollout.tick import Outcome, Tick, evolve, rolled_back

INTENT_ANNOTATION = "weightgate.dev/intent"
INTENT_ID_ANNOTATION = "weightgate.dev/intent-id"
INTENT_BY_ANNOTATION = "weightgate.dev/intent-by"

_RUNNING = (Phase.PROGRESSING, Phase.HOLDING)


def parse_intent(annotations: Mapping[str, str]) -> Intent | None:
    """The intent the annotations carry; None when there is none or it is not one we know
    (an unknown action is ignored rather than guessed at; the CLI never writes one)."""
    raw_action = annotations.get(INTENT_ANNOTATION, "")
    intent_id = annotations.get(INTENT_ID_ANNOTATION, "")
    if not raw_action or not intent_id:
        return None
    try:
        action = IntentAction(raw_action)
    except ValueError:
        return None
    return Intent(intent_id, action, annotations.get(INTENT_BY_ANNOTATION, ""))


def refusal(action: IntentAction, status: TrafficShiftStatus) -> str | None:
    """Why `action` cannot be honoured for a shift in `status`; None when it can."""
    phase = status.phase
    if phase is Phase.INVALID:
        return "the shift is Invalid: fix what its message says first"
    if action is IntentAction.RETRY:
        if phase is Phase.ROLLED_BACK:
            return None
        return f"the shift is {phase.value}: only a RolledBack shift can be retried"
    if phase.is_final:
        return f"the shift is already {phase.value}"
    if action is IntentAction.PROMOTE:
        return _promote_refusal(status)
    return None


def _promote_refusal(status: TrafficShiftStatus) -> str | None:
    if status.phase is Phase.PAUSED:
        return "the shift is Paused: resume it first, or promote --full"
    if status.phase not in _RUNNING or status.current_step == 0:
        return "the shift has not taken its first step yet"
    return None


def pending_intent(tick: Tick, status: TrafficShiftStatus) -> Intent | None:
    """This tick's intent, unless it was already handled."""
    intent = tick.observation.intent
    if intent is None:
        return None
    if status.last_intent is not None and status.last_intent.id == intent.id:
        return None
    return intent


def carry_out(tick: Tick, status: TrafficShiftStatus, intent: Intent) -> Outcome:
    """The outcome of `intent`, with the intent recorded as handled either way."""
    why_not = refusal(intent.action, status)
    if why_not is not None:
        told = transitions.intent_refused(intent.action.value, intent.by, why_not)
        return Outcome(Action.NONE, _handled(status, intent, tick.now, "Refused", why_not), (told,))
    outcome = _apply(tick, status, intent)
    message = outcome.transitions[0].message if outcome.transitions else ""
    recorded = _handled(outcome.status, intent, tick.now, "Applied", message)
    return Outcome(outcome.action, recorded, outcome.transitions, outcome.conditions)


def _apply(tick: Tick, status: TrafficShiftStatus, intent: Intent) -> Outcome:
    spec = tick.spec
    if intent.action is IntentAction.ABORT:
        aborted = transitions.aborted(spec, status, intent.by)
        return Outcome(Action.ROLLBACK, rolled_back(status), (aborted,))
    if intent.action is IntentAction.PROMOTE_FULL:
        promoted = evolve(
            status,
            phase=Phase.PROMOTED,
            canary_weight=100,
            holding_since=None,
            checks_passing_since=None,
        )
        return Outcome(
            Action.PROMOTE, promoted, (transitions.promoted_by_operator(spec, status, intent.by),)
        )
    if intent.action is IntentAction.RETRY:
        started = lifecycle.start(tick, status)
        told = (transitions.retried(spec, intent.by), *started.transitions)
        return Outcome(started.action, started.status, told, started.conditions)
    # Promote: the dwell counts as served, so the next passing check advances the step. A check
    # that fails or cannot judge before then restarts the dwell as usual.
    served = tick.now - spec.interval
    skipped = evolve(status, step_started_at=served, checks_passing_since=served)
    return Outcome(Action.NONE, skipped, (transitions.dwell_skipped(spec, status, intent.by),))


def _handled(
    status: TrafficShiftStatus,
    intent: Intent,
    now: datetime,
    outcome: Literal["Applied", "Refused"],
    message: str,
) -> TrafficShiftStatus:
    record = HandledIntent(
        id=intent.id,
        action=intent.action,
        by=intent.by,
        handled_at=now,
        outcome=outcome,
        message=message,
    )
    return evolve(status, last_intent=record)


__all__ = [
    "INTENT_ANNOTATION",
    "INTENT_BY_ANNOTATION",
    "INTENT_ID_ANNOTATION",
    "Intent",
    "carry_out",
    "parse_intent",
    "pending_intent",
    "refusal",
]
