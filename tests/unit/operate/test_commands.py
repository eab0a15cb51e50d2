"""The operator commands: what they refuse and why, and what they write."""

from __future__ import annotations

import pytest

from controller.api.status import IntentAction
from controller.operate.commands import RefusedError, managed_route, request_intent, set_paused
from controller.operate.views import view_of
from controller.rollout import parse_intent
from tests.unit.operate.fakes import FakeShiftApi, progressing, shift_object

ROLLED_BACK = {"phase": "RolledBack", "currentStep": 1, "canaryWeight": 0}
PROMOTED = {"phase": "Promoted", "currentStep": 2, "canaryWeight": 100}
INVALID = {"phase": "Invalid", "message": "VirtualService bookinfo/reviews not found"}


@pytest.mark.parametrize(
    ("action", "status", "why"),
    [
        (IntentAction.RETRY, progressing(), "only a RolledBack shift can be retried"),
        (IntentAction.PROMOTE, ROLLED_BACK, "already RolledBack"),
        (IntentAction.PROMOTE_FULL, PROMOTED, "already Promoted"),
        (IntentAction.ABORT, ROLLED_BACK, "already RolledBack"),
        (IntentAction.ABORT, INVALID, "Invalid"),
        (IntentAction.RETRY, INVALID, "Invalid"),
        (IntentAction.PROMOTE, {"phase": "Paused", "currentStep": 1}, "resume it first"),
    ],
)
def test_a_request_that_cannot_be_honoured_is_refused_and_nothing_written(
    action: IntentAction, status: dict[str, object], why: str
) -> None:
    api = FakeShiftApi(shift_object(status=status))
    with pytest.raises(RefusedError, match=why):
        request_intent(api, "bookinfo", "reviews-v3", action, "me@here")
    assert api.patches == []


def test_an_honoured_request_writes_the_intent_annotations_at_the_judged_version() -> None:
    api = FakeShiftApi(shift_object(status=progressing()))
    done = request_intent(api, "bookinfo", "reviews-v3", IntentAction.ABORT, "me@here")
    (patch,) = api.patches
    assert patch["metadata"]["resourceVersion"] == "7"
    written = parse_intent(patch["metadata"]["annotations"])
    assert written is not None
    assert (written.action, written.by, written.id) == (
        IntentAction.ABORT,
        "me@here",
        done.intent_id,
    )


def test_a_second_intent_is_refused_while_the_first_is_unhandled() -> None:
    api = FakeShiftApi(shift_object(status=progressing()))
    request_intent(api, "bookinfo", "reviews-v3", IntentAction.PROMOTE, "a")
    with pytest.raises(RefusedError, match="not handled yet"):
        request_intent(api, "bookinfo", "reviews-v3", IntentAction.ABORT, "b")


def test_a_request_is_judged_again_after_a_conflict() -> None:
    api = FakeShiftApi(shift_object(status=progressing()), conflicts=2)
    request_intent(api, "bookinfo", "reviews-v3", IntentAction.ABORT, "me")
    assert len(api.patches) == 1


def test_pause_and_resume_set_spec_paused_and_refuse_no_ops() -> None:
    api = FakeShiftApi(shift_object(status=progressing()))
    set_paused(api, "bookinfo", "reviews-v3", True)
    assert api.patches[-1]["spec"] == {"paused": True}
    with pytest.raises(RefusedError, match="already paused"):
        set_paused(api, "bookinfo", "reviews-v3", True)
    set_paused(api, "bookinfo", "reviews-v3", False)
    assert api.patches[-1]["spec"] == {"paused": False}


def test_resume_of_a_drift_pause_says_how_to_resume() -> None:
    api = FakeShiftApi(shift_object(status={**progressing(), "phase": "Paused"}))
    with pytest.raises(RefusedError, match="set the route's canary weight back to 50%"):
        set_paused(api, "bookinfo", "reviews-v3", False)


def test_pause_of_a_finished_shift_is_refused() -> None:
    api = FakeShiftApi(shift_object(status=PROMOTED))
    with pytest.raises(RefusedError, match="Promoted"):
        set_paused(api, "bookinfo", "reviews-v3", True)


def test_managed_route_reads_the_live_destinations() -> None:
    api = FakeShiftApi(shift_object(status=progressing()))
    api.virtual_services[("bookinfo", "reviews")] = {
        "spec": {
            "hosts": ["reviews"],
            "http": [
                {
                    "route": [
                        {"destination": {"host": "reviews", "subset": "v1"}, "weight": 50},
                        {"destination": {"host": "reviews", "subset": "v3"}, "weight": 50},
                    ]
                }
            ],
        }
    }
    view = view_of(api.get_shift("bookinfo", "reviews-v3"))
    assert managed_route(api, view) == [
        {"subset": "v1", "weight": 50},
        {"subset": "v3", "weight": 50},
    ]
    assert managed_route(FakeShiftApi(), view) is None
