"""One active TrafficShift per route: the first write records its owner on the VirtualService,
a second shift naming the route is Invalid and writes nothing, and promotion or rollback
releases the route (a claim by a shift that is gone or finished does not block)."""

from __future__ import annotations

import json
from typing import Any

from controller.api.status import Phase
from controller.reconcile import reconcile_once
from controller.routing.ownership import OWNERS_ANNOTATION
from tests.unit.reconcile.builders import (
    NAMESPACE,
    SHIFT_NAME,
    at,
    bookinfo_cluster,
    dest,
    make_deps,
    managed_route,
    shift_manifest,
    split,
    tick,
)
from tests.unit.reconcile.fakes import SHIFT, VS, FakeCluster, FakePrometheus

INTRUDER = "reviews-v3-again"


def owners(cluster: FakeCluster) -> dict[str, str]:
    annotations = cluster.stored(VS, NAMESPACE, "reviews")["metadata"].get("annotations") or {}
    raw = annotations.get(OWNERS_ANNOTATION)
    return {} if raw is None else dict(json.loads(raw))


def intruder(**spec: Any) -> dict[str, Any]:
    obj = shift_manifest(steps=[50, 100], **spec)
    obj["metadata"]["name"] = INTRUDER
    return obj


def tick_intruder(cluster: FakeCluster, seconds: float) -> Any:
    return reconcile_once(make_deps(cluster), NAMESPACE, INTRUDER, at(seconds))


def shift_status(cluster: FakeCluster, name: str) -> dict[str, Any]:
    return dict(cluster.stored(SHIFT, NAMESPACE, name).get("status") or {})


def test_the_first_write_records_the_owner_and_a_second_shift_is_refused() -> None:
    cluster = bookinfo_cluster()
    deps = make_deps(cluster)
    tick(deps, 0)
    assert owners(cluster) == {"http[1]": SHIFT_NAME}
    assert managed_route(cluster) == split(90)

    cluster.put(intruder())
    outcome = tick_intruder(cluster, 1)

    assert outcome.phase is Phase.INVALID
    assert managed_route(cluster) == split(90)  # not moved to 50/50
    assert len(cluster.calls_of("patch_virtual_service")) == 1  # the owner's write only
    message = shift_status(cluster, INTRUDER)["message"]
    for part in ("spec.http[1]", "VirtualService bookinfo/reviews", f"TrafficShift {SHIFT_NAME}"):
        assert part in message, f"{part!r} not in {message!r}"
    assert "one active TrafficShift per route" in message
    # The rightful shift is not disturbed: no drift, it carries on.
    assert tick(deps, 5).phase is Phase.PROGRESSING
    assert managed_route(cluster) == split(90)


def test_promotion_releases_the_route_and_a_waiting_shift_may_then_take_it() -> None:
    cluster = bookinfo_cluster(shift_manifest(steps=[100], interval="10s"))
    prometheus = FakePrometheus.healthy()
    deps = make_deps(cluster, prometheus)
    cluster.put(intruder())
    tick(deps, 0)
    assert tick_intruder(cluster, 1).phase is Phase.INVALID
    seconds = 5.0
    while (outcome := tick(deps, seconds)).phase is not Phase.PROMOTED:
        seconds += 5
        assert seconds < 300, outcome
    tick(deps, seconds + 1)  # the promote is confirmed and the route in its final shape
    assert owners(cluster) == {}
    annotations = cluster.stored(VS, NAMESPACE, "reviews")["metadata"].get("annotations") or {}
    assert OWNERS_ANNOTATION not in annotations


def test_rollback_releases_the_route() -> None:
    cluster = bookinfo_cluster()
    deps = make_deps(cluster, FakePrometheus.healthy(error_rate=5.0))
    tick(deps, 0)
    assert owners(cluster) == {"http[1]": SHIFT_NAME}
    tick(deps, 10)
    assert tick(deps, 20).phase is Phase.ROLLED_BACK
    assert owners(cluster) == {}


def test_a_claim_by_a_deleted_or_finished_shift_does_not_block() -> None:
    for finished in (None, "Promoted", "RolledBack"):
        cluster = bookinfo_cluster()
        tick(make_deps(cluster), 0)
        if finished is None:
            cluster.delete(SHIFT, NAMESPACE, SHIFT_NAME)
        else:
            old = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)
            cluster.put({**old, "status": {**old["status"], "phase": finished}})
        cluster.edit(
            VS,
            NAMESPACE,
            "reviews",
            lambda vs: vs["spec"]["http"][1].update(route=[dest("v1")]),
        )
        cluster.put(intruder())
        outcome = tick_intruder(cluster, 1)
        assert outcome.phase is Phase.PROGRESSING, (finished, outcome.message)
        assert owners(cluster) == {"http[1]": INTRUDER}


def test_an_invalid_owner_still_holds_its_route() -> None:
    cluster = bookinfo_cluster()
    tick(make_deps(cluster), 0)
    old = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)
    cluster.put({**old, "status": {**old["status"], "phase": "Invalid"}})
    cluster.put(intruder())
    outcome = tick_intruder(cluster, 1)
    assert outcome.phase is Phase.INVALID
    assert "(phase Invalid)" in outcome.message
    assert managed_route(cluster) == split(90)


def test_two_shifts_starting_together_only_one_moves_the_route() -> None:
    cluster = bookinfo_cluster()
    cluster.put(intruder())
    # The intruder's write lands between the owner's read and its write: the owner's patch
    # fails its resourceVersion guard, and on the re-read it finds the route taken.
    cluster.before_next("patch_virtual_service", lambda: tick_intruder(cluster, 0))
    tick(make_deps(cluster), 0)
    assert owners(cluster) == {"http[1]": INTRUDER}
    assert managed_route(cluster) == split(50)
    outcome = tick(make_deps(cluster), 5)
    assert outcome.phase is Phase.INVALID
    assert managed_route(cluster) == split(50)
