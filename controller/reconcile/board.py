"""The gate board: where batched rounds post gate results and shift ticks pick them up.

Owns ``GateBoard``. A tick whose shift can be judged (Progressing or Holding, not paused, no
write pending) registers what its check needs; the round runner (``controller.rounds``) reads
the registered requests at each round, evaluates them in a few batched queries and posts one
result per shift. The shift's next tick takes its result, once: a result counts as a check only
if it was measured after the shift's last check and after its current step began (data from
before the step judged another weight), and while it is younger than the check interval (a
result that waited, e.g. behind a pending write, is too old to act on).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from controller.analysis.batched import CheckRequest
from controller.analysis.readings import CounterSnapshot, Readings
from controller.api.status import Evidence, GateStatus, GateVerdict

ShiftName = tuple[str, str]  # namespace, name


@dataclass(frozen=True)
class Posted:
    at: datetime
    gates: tuple[GateStatus, ...]
    evidence: Evidence | None = None  # the sequential judge's counts after this round
    ready_at: datetime | None = None  # not takeable before (None: at once)


def take_offset(shift: ShiftName, spread: timedelta, interval: timedelta) -> timedelta:
    """The shift's fixed place within the spread (at most half its check interval)."""
    width = min(spread, interval / 2)
    fraction = zlib.crc32(f"{shift[0]}/{shift[1]}".encode()) / 2**32
    return width * fraction


class GateBoard:
    """Thread-safe: ticks, the round runner and the watch threads all reach it."""

    def __init__(self, *, spread: timedelta = timedelta(0)) -> None:
        self._spread = spread
        self._lock = threading.Lock()
        self._requests: dict[ShiftName, tuple[CheckRequest, timedelta]] = {}
        self._posted: dict[ShiftName, Posted] = {}
        self._snapshots: dict[tuple[str, str], CounterSnapshot] = {}

    def register(self, shift: ShiftName, request: CheckRequest, interval: timedelta) -> None:
        with self._lock:
            self._requests[shift] = (request, interval)

    def unregister(self, shift: ShiftName) -> None:
        with self._lock:
            self._requests.pop(shift, None)
            self._posted.pop(shift, None)

    def intervals(self) -> set[timedelta]:
        with self._lock:
            return {interval for _, interval in self._requests.values()}

    def requests(self, interval: timedelta) -> list[CheckRequest]:
        with self._lock:
            return [req for req, every in self._requests.values() if every == interval]

    def post(
        self,
        results: Mapping[Hashable, Sequence[GateStatus]],
        at: datetime,
        evidence: Mapping[Hashable, Evidence] | None = None,
        snapshots: Sequence[CounterSnapshot] = (),
    ) -> None:
        found = evidence or {}
        with self._lock:
            for snapshot in snapshots:
                for namespace in snapshot.namespaces:
                    self._snapshots[(snapshot.reporter, namespace)] = snapshot
            for shift, (_, interval) in self._requests.items():
                gates = results.get(shift)  # one unregistered while the round ran is dropped
                if gates is not None:
                    ready = at
                    if not any(g.verdict is GateVerdict.FAIL for g in gates):
                        ready += take_offset(shift, self._spread, interval)
                    self._posted[shift] = Posted(at, tuple(gates), found.get(shift), ready)

    def counters(
        self,
        reporter: str,
        namespaces: set[str],
        *,
        buckets: bool,
        now: datetime,
        max_age: timedelta,
    ) -> tuple[Readings, frozenset[str] | None] | None:
        """The last rounds' counter readings of every subset in `namespaces`, when each was
        read within `max_age` (with the duration buckets, if asked), and the bucket edges they
        were read at (None: every edge); None when there is no such reading."""
        merged: Readings = {}
        edges: set[str] | None = None
        with self._lock:
            for namespace in namespaces:
                snapshot = self._snapshots.get((reporter, namespace))
                if snapshot is None or now - snapshot.at > max_age:
                    return None
                if buckets and not snapshot.buckets:
                    return None
                merged.update(snapshot.readings)
                if snapshot.edges is not None:
                    edges = (edges or set()) | snapshot.edges
        return merged, None if edges is None else frozenset(edges)

    def ready(self, shift: ShiftName, now: datetime) -> bool:
        """Whether a result for the shift is posted and takeable at `now` (see the spread)."""
        with self._lock:
            posted = self._posted.get(shift)
        return posted is not None and (posted.ready_at is None or posted.ready_at <= now)

    def take(
        self, shift: ShiftName, *, after: datetime | None, now: datetime, interval: timedelta
    ) -> tuple[GateStatus, ...] | None:
        """The gates of the shift's posted result if it is a new check (see `take_posted`)."""
        posted = self.take_posted(shift, after=after, now=now, interval=interval)
        return None if posted is None else posted.gates

    def take_posted(
        self, shift: ShiftName, *, after: datetime | None, now: datetime, interval: timedelta
    ) -> Posted | None:
        """The shift's posted result if it is a new check: measured after ``after``, takeable
        (see the spread) and younger than ``interval``; it is removed either way once found too
        old or taken."""
        with self._lock:
            posted = self._posted.get(shift)
            if posted is None or (after is not None and posted.at <= after):
                return None
            if posted.ready_at is not None and now < posted.ready_at:
                return None
            del self._posted[shift]
        if now - posted.at >= interval:
            return None
        return posted
