"""weightgate.rollout: the pure state machine of a TrafficShift.

Given the spec, the recorded status, what one reconcile tick observed (live canary weight, gate
results) and the time, `decide` returns the one VirtualService action to take, the full next
status and the transitions to announce. All state lives in the status, so a controller killed
at any moment resumes exactly: a recorded write is finished rather than decided again
(`write_pending` / `confirm_write`), which is what keeps a step from being skipped or taken
twice. No I/O, no clock reads, no imports beyond `controller.api`.
"""

from controller.rollout.decision import Action, Decision, Intent, Observation, Policy, Transition
from controller.rollout.deletion import exposed, may_let_go
from controller.rollout.identity import shift_hash
from controller.rollout.intents import (
    INTENT_ANNOTATION,
    INTENT_BY_ANNOTATION,
    INTENT_ID_ANNOTATION,
    parse_intent,
    refusal,
)
from controller.rollout.machine import (
    check_due,
    confirm_write,
    decide,
    effective_check_interval,
    gates_judged,
)
from controller.rollout.progress import dwell_started_at

__all__ = [
    "INTENT_ANNOTATION",
    "INTENT_BY_ANNOTATION",
    "INTENT_ID_ANNOTATION",
    "Action",
    "Decision",
    "Intent",
    "Observation",
    "Policy",
    "Transition",
    "check_due",
    "confirm_write",
    "decide",
    "dwell_started_at",
    "effective_check_interval",
    "exposed",
    "gates_judged",
    "may_let_go",
    "parse_intent",
    "refusal",
    "shift_hash",
]
