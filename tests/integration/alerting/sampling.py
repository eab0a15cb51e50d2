"""Watching something change over time without sleep-and-hope: `Sampler` records a probe's
values in a thread while a test drives the system, and `stays` asserts that a condition keeps
holding for a whole window (how these tests say "no second alert arrives")."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

import requests

T = TypeVar("T")


class Sampler(Generic[T]):
    """Calls `probe` every `every` seconds while inside `with`; keeps (monotonic time, value).
    A probe that fails with a connection error this instant records nothing."""

    def __init__(self, probe: Callable[[], T], every: float = 0.1) -> None:
        self._probe = probe
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self.samples: list[tuple[float, T]] = []

    def __enter__(self) -> Sampler[T]:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                value = self._probe()
            except requests.RequestException:
                pass
            else:
                self.samples.append((time.monotonic(), value))
            self._stop.wait(self._every)

    def path(self) -> list[T]:
        """The values seen, consecutive repeats dropped."""
        seen: list[T] = []
        for _, value in list(self.samples):
            if not seen or seen[-1] != value:
                seen.append(value)
        return seen


def stays(
    what: str, probe: Callable[[], T], expected: T, seconds: float, every: float = 0.25
) -> None:
    """Assert `probe()` equals `expected` now and at every look for `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        seen = probe()
        assert seen == expected, f"{what}: expected {expected!r} throughout, then saw {seen!r}"
        if time.monotonic() >= deadline:
            return
        time.sleep(every)
