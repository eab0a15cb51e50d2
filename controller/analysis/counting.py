"""Counting requests from cumulative counters, in a way that resets and scrape gaps cannot fool.

Owns `update_evidence`: each check reads the raw cumulative values of a subset's counters
(``sum`` of Istio's counters, never ``increase()``, which extrapolates to non-integers and misses
a new series' first increments) and adds the differences since the last reading to the shift's
and the step's counts. Counters are grouped in families that reset together: Istio's (requests,
5xx, duration buckets) and each custom count gate's pair.

A family whose reading fell (a counter lower than before, or gone) is not counted, and its
earlier values are kept as the base ("suspect"): if the next reading is back at or above them it
was a scrape gap and the difference is counted then, so nothing is lost or counted twice; if it
is still below, it was a reset (a restarted pod or mesh), and counting restarts from that
reading. A reading with no series of the family at all tells nothing either way (a scrape
outage makes every series stale): the base is kept, however long it lasts. Either way a reset
never shows as negative or huge traffic. A counter never seen before counts from zero, so a
brand-new series (the first 5xx answer) counts at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache

from controller.api.status import Evidence, SubsetEvidence

ISTIO_FAMILY = "istio"
REQUESTS = "requests"
ERRORS = "errors"
BUCKET_PREFIX = "le="
INF_BUCKET = "le=+Inf"

Reading = Mapping[str, float]


@lru_cache(maxsize=4096)  # the same few counter keys, every check of every shift
def family(key: str) -> str:
    """The family a counter key belongs to: ``istio``, or a custom gate's name."""
    if key in (REQUESTS, ERRORS) or key.startswith(BUCKET_PREFIX):
        return ISTIO_FAMILY
    return key.rsplit(":", 1)[0]


def gate_key(gate: str, which: str) -> str:
    """The key of a custom count gate's counter: ``<gate>:errors`` or ``<gate>:total``."""
    return f"{gate}:{which}"


def _add(counts: Mapping[str, int], deltas: Mapping[str, int]) -> dict[str, int]:
    merged = dict(counts)
    for key, delta in deltas.items():
        merged[key] = merged.get(key, 0) + delta
    return merged


class _SubsetUpdate:
    """One subset's new counters after a reading."""

    def __init__(self, previous: SubsetEvidence, reading: Reading) -> None:
        self.previous = previous
        self.reading = reading
        self.read = dict(previous.read)
        self.suspect = set(previous.suspect)
        self.deltas: dict[str, int] = {}
        self.resets = 0

    def run(self) -> None:
        families = {family(k) for k in self.reading} | {family(k) for k in self.previous.read}
        for name in sorted(families):
            self._family(name)

    def _family(self, name: str) -> None:
        before = {k: v for k, v in self.previous.read.items() if family(k) == name}
        now = {k: v for k, v in self.reading.items() if family(k) == name}
        if before and not now:  # no series at all: a scrape gap tells nothing, keep the base
            self.suspect.add(name)
            return
        fell = any(key not in now or now[key] < value for key, value in before.items())
        if not fell:
            for key, value in now.items():
                delta = round(value - before.get(key, 0.0))
                if delta > 0:
                    self.deltas[key] = delta
                self.read[key] = value
            self.suspect.discard(name)
            return
        if name not in self.suspect:  # first fall: keep the base, wait for the next reading
            self.suspect.add(name)
            return
        for key in before:  # fell again with values to show for it: a reset; count from here
            self.read.pop(key, None)
        self.read.update(now)
        self.suspect.discard(name)
        self.resets += 1


def update_subset(
    previous: SubsetEvidence, reading: Reading, *, same_step: bool
) -> tuple[SubsetEvidence, dict[str, int], int]:
    """The subset after `reading`, the deltas it counted, and how many resets it confirmed.

    With ``same_step`` False the step counts start over and this reading's deltas (which may
    straddle the step's start) count for the shift only.
    """
    update = _SubsetUpdate(previous, reading)
    update.run()
    step = _add(previous.step, update.deltas) if same_step else {}
    subset = SubsetEvidence(
        read=update.read,
        suspect=sorted(update.suspect),
        shift=_add(previous.shift, update.deltas),
        step=step,
    )
    return subset, update.deltas, update.resets


def update_evidence(
    previous: Evidence | None,
    *,
    canary: Reading,
    stable: Reading,
    now: datetime,
    step_started_at: datetime | None,
) -> Evidence:
    """The shift's evidence after one reading of both subsets' counters.

    The first reading of a shift only sets the base: traffic before it is not counted.
    """
    if previous is None:
        return Evidence(
            since=now,
            read_at=now,
            step_started_at=step_started_at,
            canary=SubsetEvidence(read=dict(canary)),
            stable=SubsetEvidence(read=dict(stable)),
        )
    same_step = previous.step_started_at == step_started_at
    new_canary, canary_deltas, canary_resets = update_subset(
        previous.canary, canary, same_step=same_step
    )
    new_stable, _, stable_resets = update_subset(previous.stable, stable, same_step=same_step)
    resets = canary_resets + stable_resets
    note = previous.note
    if resets:
        note = (
            f"counter reset seen at {now.isoformat()}: traffic since the reading before it is "
            "not counted"
        )
    seen = now if canary_deltas.get(REQUESTS, 0) > 0 else previous.canary_seen_at
    return Evidence(
        since=previous.since,
        read_at=now,
        step_started_at=step_started_at,
        canary_seen_at=seen,
        canary=new_canary,
        stable=new_stable,
        resets=previous.resets + resets,
        note=note,
    )
