"""The mesh's built-in load generator: steady requests to its own /productpage.

Owns pacing (an open model: requests start on schedule whatever the latency, like a real user
population) and a thread pool wide enough that a slow canary does not throttle the rate. When
`max_in_flight` requests are already waiting, a scheduled request is dropped and counted rather
than queued, so a stalled mesh never builds an unbounded backlog.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

FALLING_BEHIND_SECONDS = 1.0


class LoadGenerator:
    """Sends GET `target_url` `rps` times a second from a pool of worker threads."""

    def __init__(self, target_url: str, rps: float = 0.0, max_in_flight: int = 256) -> None:
        self.target_url = target_url
        self._rps = _checked_rate(rps)
        self._max_in_flight = max_in_flight
        self._lock = threading.Lock()
        self._in_flight = 0
        self._outcomes: Counter[str] = Counter()
        self._stopping = threading.Event()
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    @property
    def rps(self) -> float:
        return self._rps

    def set_rate(self, rps: float) -> None:
        """Change the rate while running; 0 pauses."""
        self._rps = _checked_rate(rps)

    def start(self) -> None:
        self._stopping.clear()
        self._pool = ThreadPoolExecutor(self._max_in_flight, thread_name_prefix="loadgen")
        self._thread = threading.Thread(target=self._pace, name="loadgen-pacer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rps": self._rps,
                "in_flight": self._in_flight,
                "outcomes": dict(self._outcomes),
            }

    def _pace(self) -> None:
        next_at = time.monotonic()
        while not self._stopping.is_set():
            rps = self._rps
            now = time.monotonic()
            if rps <= 0:
                self._stopping.wait(0.05)
                next_at = time.monotonic()
                continue
            if now < next_at:
                self._stopping.wait(next_at - now)
                continue
            self._launch()
            next_at += 1.0 / rps
            if next_at < now - FALLING_BEHIND_SECONDS:
                next_at = now  # after a stall, resume the rate instead of bursting to catch up

    def _launch(self) -> None:
        with self._lock:
            if self._in_flight >= self._max_in_flight or self._pool is None:
                self._outcomes["dropped"] += 1
                return
            self._in_flight += 1
            pool = self._pool
        try:
            pool.submit(self._send)
        except RuntimeError:  # the pool is shutting down
            with self._lock:
                self._in_flight -= 1

    def _send(self) -> None:
        outcome = "error"
        try:
            session = getattr(self._local, "session", None)
            if session is None:
                session = self._local.session = requests.Session()
            response = session.get(self.target_url, timeout=30)
            outcome = str(response.status_code)
        except requests.RequestException:
            outcome = "error"
        finally:
            with self._lock:
                self._in_flight -= 1
                self._outcomes[outcome] += 1


def _checked_rate(rps: float) -> float:
    if isinstance(rps, bool) or not isinstance(rps, int | float) or not 0 <= rps <= 10000:
        raise ValueError(f"rps: must be a number within 0..10000, got {rps!r}")
    return float(rps)
