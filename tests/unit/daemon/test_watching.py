"""The watcher: list then watch into the job bookkeeping, re-list on 410 Gone, back off while
the API is unreachable, and never raise."""

from __future__ import annotations

import threading

import pytest

from controller.kube.client import WatchEvent
from controller.kube.errors import GoneError, KubeError, UnavailableError
from controller.scheduler import ShiftJobs, ShiftKey
from controller.watching import Backoff, ShiftWatcher
from tests.unit.daemon.fakes import RecordingTable, ScriptedSource, shift


@pytest.fixture
def stop() -> threading.Event:
    return threading.Event()


@pytest.fixture
def table() -> RecordingTable:
    return RecordingTable()


def run_watcher(
    source: ScriptedSource, table: RecordingTable, namespace: str | None = None
) -> list[float]:
    """Run a watcher until its source's script is played out; returns the backoff waits it
    asked for while running."""
    waits: list[float] = []
    watcher = ShiftWatcher(
        source,
        ShiftJobs(table),
        namespace,
        source.stop,
        backoff=Backoff(initial=0.5, maximum=4.0),
        wait=lambda seconds: None if source.stop.is_set() else waits.append(seconds),
    )
    watcher.run()
    return waits


def key(name: str) -> ShiftKey:
    return ShiftKey("bookinfo", name)


def test_listed_shifts_get_jobs_and_watch_events_update_them(
    stop: threading.Event, table: RecordingTable
) -> None:
    source = ScriptedSource(
        stop,
        lists=[([shift("a")], "10")],
        watches=[
            [
                WatchEvent("ADDED", shift("b", version="11")),
                WatchEvent("MODIFIED", shift("a", phase="Promoted", version="12")),
            ]
        ],
    )
    run_watcher(source, table)
    assert table.calls == [("add", key("a")), ("add", key("b")), ("remove", key("a"))]
    assert source.watched_from[0] == "10"


def test_a_watch_the_server_ends_resumes_from_the_last_version_seen(
    stop: threading.Event, table: RecordingTable
) -> None:
    bookmark = WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "25"}})
    source = ScriptedSource(
        stop,
        lists=[([], "10")],
        watches=[[WatchEvent("ADDED", shift("a", version="20")), bookmark], []],
    )
    run_watcher(source, table)
    assert source.watched_from == ["10", "25", "25"]
    assert table.calls == [("add", key("a"))]


def test_410_gone_relists_at_once_and_drops_jobs_of_shifts_deleted_meanwhile(
    stop: threading.Event, table: RecordingTable
) -> None:
    source = ScriptedSource(
        stop,
        lists=[([shift("a"), shift("b")], "10"), ([shift("b")], "90")],
        watches=[
            [WatchEvent("MODIFIED", shift("b", version="11")), GoneError("too old", 410)],
            [],
        ],
    )
    waits = run_watcher(source, table)
    assert source.listed_namespaces == [None, None]
    assert source.watched_from[:2] == ["10", "90"]
    assert ("remove", key("a")) in table.calls
    assert ("remove", key("b")) not in table.calls
    assert waits == []


def test_gone_straight_after_a_list_backs_off_instead_of_spinning(
    stop: threading.Event, table: RecordingTable
) -> None:
    source = ScriptedSource(
        stop,
        lists=[([], "1"), ([], "2")],
        watches=[[GoneError("too old", 410)], [GoneError("too old", 410)]],
    )
    waits = run_watcher(source, table)
    assert waits == [0.5, 1.0]
    assert source.listed_namespaces == [None, None, None]


def test_an_unreachable_api_is_retried_with_growing_backoff_until_it_answers(
    stop: threading.Event, table: RecordingTable
) -> None:
    down = UnavailableError("list trafficshifts: API server unreachable")
    source = ScriptedSource(
        stop,
        lists=[down, down, down, down, down, ([shift("a")], "5")],
        watches=[
            [
                WatchEvent("ADDED", shift("b", version="6")),
                UnavailableError("watch trafficshifts: connection reset"),
            ]
        ],
    )
    waits = run_watcher(source, table)
    # Five failed lists; then a watch that delivered before it broke: the delay starts over.
    assert waits == [0.5, 1.0, 2.0, 4.0, 4.0, 0.5]
    assert table.calls == [("add", key("a")), ("add", key("b"))]


def test_watches_that_break_at_once_keep_backing_off_even_though_lists_succeed(
    stop: threading.Event, table: RecordingTable
) -> None:
    broken = UnavailableError("watch trafficshifts: connection reset")
    source = ScriptedSource(
        stop, lists=[([], "1"), ([], "2"), ([], "3")], watches=[[broken], [broken], [broken]]
    )
    assert run_watcher(source, table) == [0.5, 1.0, 2.0]


def test_unexpected_errors_do_not_end_the_watcher(
    stop: threading.Event, table: RecordingTable
) -> None:
    source = ScriptedSource(
        stop,
        lists=[KubeError("list trafficshifts: HTTP 403: forbidden", 403), ([shift("a")], "3")],
        watches=[[ValueError("a bug in event handling")], []],
    )
    waits = run_watcher(source, table)
    assert waits == [0.5, 1.0]
    assert table.calls == [("add", key("a"))]


def test_a_namespaced_watcher_lists_only_its_namespace(
    stop: threading.Event, table: RecordingTable
) -> None:
    source = ScriptedSource(stop, lists=[([shift("a", "team-a")], "1")], watches=[[]])
    run_watcher(source, table, namespace="team-a")
    assert source.listed_namespaces[0] == "team-a"
    assert table.calls == [("add", ShiftKey("team-a", "a"))]


def test_a_stopped_watcher_does_not_list_at_all(
    stop: threading.Event, table: RecordingTable
) -> None:
    stop.set()
    source = ScriptedSource(stop, lists=[([shift("a")], "1")])
    run_watcher(source, table)
    assert source.listed_namespaces == []
    assert table.calls == []


@pytest.mark.parametrize(
    ("failures", "delay"), [(1, 0.5), (2, 1.0), (3, 2.0), (7, 30.0), (50, 30.0)]
)
def test_backoff_doubles_up_to_its_maximum(failures: int, delay: float) -> None:
    assert Backoff().delay(failures) == delay
