"""Shifts that cannot run: phase Invalid with a message naming the fix, one Warning event, the
VirtualService untouched, nothing rewritten on later ticks, and a clean start once fixed."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from controller.api.status import Phase
from controller.rollout import Policy
from tests.unit.reconcile.builders import (
    NAMESPACE,
    SHIFT_NAME,
    bookinfo_cluster,
    dest,
    destination_rule,
    make_deps,
    managed_route,
    shift_manifest,
    split,
    stored_status,
    tick,
    tick_until,
    virtual_service,
)
from tests.unit.reconcile.fakes import DR, SHIFT, VS, FakeCluster, FakePrometheus

Change = Callable[[FakeCluster], None]


def _edit_spec(**spec: Any) -> Change:
    """A spec edit, as `kubectl apply` makes it: a new generation."""

    def change(cluster: FakeCluster) -> None:
        def edit(obj: dict[str, Any]) -> None:
            obj["spec"].update(spec)
            obj["metadata"]["generation"] += 1

        cluster.edit(SHIFT, NAMESPACE, SHIFT_NAME, edit)

    return change


def _delete(kind: str) -> Change:
    return lambda cluster: cluster.delete(kind, NAMESPACE, "reviews")


def _put(obj: dict[str, Any]) -> Change:
    def change(cluster: FakeCluster) -> None:
        cluster.put(obj)

    return change


@dataclass(frozen=True)
class Case:
    id: str
    break_it: Change
    says: tuple[str, ...]  # fragments the status message must contain: what and the fix
    fix_it: Change


CASES = [
    Case(
        "missing-virtual-service",
        _delete(VS),
        ("VirtualService bookinfo/reviews not found", "create it, or fix spec.virtualService"),
        _put(virtual_service()),
    ),
    Case(
        "missing-destination-rule",
        _delete(DR),
        ("DestinationRule bookinfo/reviews not found", "or remove spec.destinationRule"),
        _put(destination_rule()),
    ),
    Case(
        "missing-canary-subset",
        _put(destination_rule("v1", "v2")),
        ("no subset named v3", "add subset v3", "the subsets that exist are: v1, v2"),
        _put(destination_rule()),
    ),
    Case(
        "steps-not-increasing",
        _edit_spec(steps=[50, 30]),
        ("spec.steps", "steps[1] is 30, not above steps[0] (50)", "must strictly increase"),
        _edit_spec(steps=[30, 50]),
    ),
    Case(
        "unknown-profile",
        _edit_spec(analysis={"judge": "threshold", "profile": "fast"}),
        ("gate profile 'fast' not found (known: default)", "add config/gates/<name>.yaml"),
        _edit_spec(analysis={"judge": "threshold", "profile": "default"}),
    ),
    Case(
        "ambiguous-route",
        _put(virtual_service(extra_routes=1)),
        ("2 http routes without `match`", "set spec.route"),
        _put(virtual_service()),
    ),
]


def _broken(case: Case) -> FakeCluster:
    cluster = bookinfo_cluster()
    case.break_it(cluster)
    cluster.calls.clear()
    return cluster


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_invalid_shift_is_marked_invalid_with_the_fix_and_one_warning(case: Case) -> None:
    cluster = _broken(case)
    vs_before = copy.deepcopy(cluster.objects.get((VS, NAMESPACE, "reviews")))

    outcome = tick(make_deps(cluster), 0)

    assert outcome.phase is Phase.INVALID
    assert outcome.finished
    raw = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["status"]
    assert raw["phase"] == "Invalid"
    for fragment in case.says:
        assert fragment in raw["message"], fragment
    assert raw["message"] == outcome.message
    valid = next(c for c in raw["conditions"] if c["type"] == "Valid")
    assert (valid["status"], valid["reason"]) == ("False", "InvalidSpec")
    assert [(e.reason, e.warning) for e in cluster.events] == [("InvalidSpec", True)]
    assert cluster.events[0].message == raw["message"]
    assert cluster.calls_of("patch_virtual_service") == []
    assert cluster.objects.get((VS, NAMESPACE, "reviews")) == vs_before


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_invalid_shift_is_not_rewritten_at_the_same_generation(case: Case) -> None:
    cluster = _broken(case)
    deps = make_deps(cluster)
    tick(deps, 0)
    version = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["metadata"]["resourceVersion"]

    again = tick(deps, 30)

    assert again.phase is Phase.INVALID
    assert len(cluster.calls_of("replace_shift_status")) == 1
    assert len(cluster.events) == 1
    assert cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["metadata"]["resourceVersion"] == version
    assert cluster.calls_of("patch_virtual_service") == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fixing_the_cause_lets_the_shift_start(case: Case) -> None:
    cluster = _broken(case)
    deps = make_deps(cluster)
    tick(deps, 0)
    tick(deps, 10)

    case.fix_it(cluster)
    started = tick(deps, 20)

    assert started.phase is Phase.PROGRESSING
    assert started.write_confirmed
    first_step = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["spec"]["steps"][0]
    status = stored_status(cluster)
    assert (status.current_step, status.canary_weight, status.write_pending) == (
        1,
        first_step,
        False,
    )
    assert managed_route(cluster) == split(100 - first_step)
    assert cluster.event_reasons() == ["InvalidSpec", "ShiftStarted"]
    assert [h.reason for h in status.history] == ["InvalidSpec", "ShiftStarted"]


def test_invalid_history_is_trimmed_to_the_policy_limit() -> None:
    cluster = bookinfo_cluster()
    deps = make_deps(cluster, policy=Policy(history_limit=2))
    tick_until(deps, lambda o: o.step == 3)
    assert len(stored_status(cluster).history) == 2
    cluster.delete(DR, NAMESPACE, "reviews")

    tick(deps, 1000)

    history = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["status"]["history"]
    assert [h["reason"] for h in history] == ["StepAdvanced", "InvalidSpec"]


# -- Invalid mid-shift: the canary is not left exposed ---------------------------------------


def _running() -> tuple[FakeCluster, Any]:
    cluster = bookinfo_cluster()
    deps = make_deps(cluster)
    tick(deps, 0)
    assert managed_route(cluster) == split(90)
    cluster.calls.clear()
    return cluster, deps


@pytest.mark.parametrize(
    "break_it",
    [_edit_spec(steps=[50, 30]), _put(destination_rule("v1", "v2"))],
    ids=["steps-edited-invalid", "canary-subset-removed"],
)
def test_a_shift_invalid_mid_shift_rolls_its_canary_back(break_it: Change) -> None:
    cluster, deps = _running()
    break_it(cluster)

    outcome = tick(deps, 5)

    assert outcome.phase is Phase.INVALID
    assert managed_route(cluster) == [dest("v1")]
    raw = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["status"]
    assert raw["canaryWeight"] == 0
    assert not raw.get("writePending")
    assert raw["rollbackCause"] == "invalid"
    assert (
        "Its canary had 10% of the traffic, so VirtualService reviews was rolled back"
        in (raw["message"])
    )
    conditions = {c["type"]: c for c in raw["conditions"]}
    assert (conditions["Valid"]["status"], conditions["Progressing"]["status"]) == (
        "False",
        "False",
    )
    assert "rolled back" not in conditions["Valid"]["message"]  # the problem alone
    # Done once: later ticks write nothing more.
    writes = len(cluster.calls_of("replace_shift_status"))
    tick(deps, 10)
    assert len(cluster.calls_of("replace_shift_status")) == writes
    assert len(cluster.calls_of("patch_virtual_service")) == 1


def test_a_canary_that_cannot_be_rolled_back_is_named_and_not_rewritten_each_tick() -> None:
    cluster, deps = _running()
    _edit_spec(steps=[50, 30], virtualService="reviews-gone")(cluster)

    tick(deps, 5)

    raw = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["status"]
    assert "had 10% of the traffic and still has it" in raw["message"]
    assert "VirtualService reviews-gone is gone" in raw["message"]
    assert managed_route(cluster) == split(90)
    writes = len(cluster.calls_of("replace_shift_status"))
    tick(deps, 10)
    assert len(cluster.calls_of("replace_shift_status")) == writes
    assert cluster.event_reasons() == ["ShiftStarted", "InvalidSpec"]


def test_a_route_another_shift_owns_is_never_rolled_back_for_an_invalid_one() -> None:
    cluster, deps = _running()

    def taken(vs: dict[str, Any]) -> None:
        vs["metadata"]["annotations"] = {"weightgate.dev/owners": '{"http[1]": "someone"}'}

    cluster.edit(VS, NAMESPACE, "reviews", taken)
    cluster.put({**shift_manifest(), "metadata": {"name": "someone", "namespace": NAMESPACE}})
    _edit_spec(steps=[50, 30])(cluster)

    tick(deps, 5)

    assert managed_route(cluster) == split(90)
    raw = cluster.stored(SHIFT, NAMESPACE, SHIFT_NAME)["status"]
    assert "TrafficShift someone manages the route now" in raw["message"]


# -- custom PromQL only where the settings allow it ------------------------------------------


def test_custom_promql_outside_the_allowed_namespaces_is_invalid_and_writes_nothing() -> None:
    custom = {"name": "cpu", "query": "max(cpu)", "max": 1}
    cluster = bookinfo_cluster(shift_manifest(analysis={"judge": "threshold", "gates": [custom]}))
    deps = replace(make_deps(cluster), custom_query_namespaces=frozenset({"team-a"}))

    outcome = tick(deps, 0)

    assert outcome.phase is Phase.INVALID
    assert "gate(s) cpu in spec.analysis.gates carry their own PromQL" in outcome.message
    assert "namespaces team-a (setting custom_query_namespaces)" in outcome.message
    assert cluster.calls_of("patch_virtual_service") == []

    # Listed: the same shift runs (its query is pre-flighted, then step 1 is written).
    listed = bookinfo_cluster(shift_manifest(analysis={"judge": "threshold", "gates": [custom]}))
    prometheus = FakePrometheus.healthy()
    prometheus.set(r"^max\(cpu\)$", 0.5)
    allowed = replace(make_deps(listed, prometheus), custom_query_namespaces=frozenset({NAMESPACE}))
    assert tick(allowed, 0).phase is Phase.PROGRESSING
    # Builtin gates from a profile are always allowed, even with no namespace listed.
    builtin = replace(make_deps(bookinfo_cluster()), custom_query_namespaces=frozenset())
    assert tick(builtin, 0).phase is Phase.PROGRESSING
