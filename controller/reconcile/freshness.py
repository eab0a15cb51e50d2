"""When a check that changed nothing is written to the status anyway.

With batched rounds, most checks only refresh numbers: the gates' values and times, the
Healthy condition's message, ``lastCheckAt``. Writing each of them would make a thousand shifts
a thousand status writes per round, all within the second after it, which the API server (and
the watch that echoes every write back to us) has to absorb at once. So such a check is written
only on its shift's refresh round: one round in ``REFRESH_EVERY_CHECKS``, picked by a stable
hash of the shift's name, so a sixth of the shifts refresh in each round and ``kubectl get``
shows values at most a minute old (at the default 10 s interval).

Anything else is always written at once: a verdict that changed, a failed check counted, a
dwell started, a phase, step or weight, an alert owed. Nothing the state machine decides from is
ever left unwritten: a restarted controller reads the same counts and times.
"""

from __future__ import annotations

import math
import zlib
from datetime import datetime, timedelta
from typing import Any

from controller.api.status import TrafficShiftStatus

REFRESH_EVERY_CHECKS = 6
# Per gate, what a verdict is; the value, message, query text and time are refreshed lazily
# (a round of the sequential judge reads every bucket edge once, then only the ones it needs:
# the query's text changes, the verdict does not).
_GATE_IDENTITY = ("name", "verdict", "critical", "threshold", "judge", "waiting")
# The sequential judge's counts grow every check, and the next check recounts from whatever was
# written last (its counters are cumulative), so they refresh lazily too; what changes how the
# counts are taken (a suspected reset, a new step, a confirmed reset) is written at once.
_EVIDENCE_IDENTITY = ("since", "stepStartedAt", "resets")
_CONDITION_IDENTITY = ("type", "status", "reason", "observedGeneration")


# Counts are left out of the dump itself: they are the bulk of a sequential shift's status.
_COUNTS = {"read", "shift", "step"}
_LEFT_OUT: dict[str, Any] = {
    "evidence": {"canary": _COUNTS, "stable": _COUNTS},
    "gates": {"__all__": {"evidence"}},
}


def _essence(status: TrafficShiftStatus) -> dict[str, Any]:
    data = status.model_dump(mode="json", by_alias=True, exclude_none=True, exclude=_LEFT_OUT)
    data.pop("lastCheckAt", None)
    data["gates"] = [
        {key: gate.get(key) for key in _GATE_IDENTITY} for gate in data.get("gates") or []
    ]
    evidence = data.get("evidence")
    if evidence is not None:
        data["evidence"] = {key: evidence.get(key) for key in _EVIDENCE_IDENTITY}
        data["evidence"]["suspect"] = [
            (evidence.get(side) or {}).get("suspect") for side in ("canary", "stable")
        ]
    data["conditions"] = [
        {key: cond.get(key) for key in _CONDITION_IDENTITY} for cond in data.get("conditions") or []
    ]
    return data


def only_refreshes(before: TrafficShiftStatus | None, after: TrafficShiftStatus) -> bool:
    """Whether ``after`` differs from ``before`` in refreshed numbers and times alone."""
    return before is not None and _essence(before) == _essence(after)


def refresh_round(namespace: str, name: str, now: datetime, interval: timedelta) -> bool:
    """Whether the round ``now`` falls in is this shift's turn to write a refresh."""
    round_index = math.floor(now.timestamp() / max(interval.total_seconds(), 1.0))
    offset = zlib.crc32(f"{namespace}/{name}".encode())
    return (round_index + offset) % REFRESH_EVERY_CHECKS == 0
