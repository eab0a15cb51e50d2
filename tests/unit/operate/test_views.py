"""Rendering shifts: the table, the detail view and history fit 80 columns; the document keys."""

from __future__ import annotations

from datetime import UTC, datetime

from controller.operate.detail import render_detail
from controller.operate.views import render_history, render_table, shift_document, view_of
from tests.unit.operate.fakes import progressing, shift_object

NOW = datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)
LONG = "x" * 300

GATE = {
    "name": "error-rate-with-a-very-long-name",
    "verdict": "Fail",
    "value": 4.51234,
    "threshold": "<= 1 and <= stable + 0.5 points",
    "message": LONG,
}
HISTORY = [
    {"time": "2024-05-01T12:00:00Z", "phase": "Progressing", "step": 1, "weight": 50,
     "reason": "ShiftStarted", "message": LONG},
    {"time": "2024-05-01T12:00:45Z", "phase": "Paused", "step": 1, "weight": 50,
     "reason": "Paused", "message": "Paused at step 1/2."},
]  # fmt: skip
CONDITION = {
    "type": "Progressing",
    "status": "True",
    "reason": "StepAdvanced",
    "lastTransitionTime": "2024-05-01T12:00:00Z",
}


def busy_shift() -> dict[str, object]:
    status = progressing(
        gates=[GATE],
        history=HISTORY,
        conditions=[CONDITION],
        message=LONG,
        checksPassingSince="2024-05-01T12:00:10Z",
    )
    return shift_object(name="a-name-longer-than-the-name-column-allows", status=status)


def assert_fits(text: str) -> None:
    widest = max(len(line) for line in text.splitlines())
    assert widest <= 80, f"a line is {widest} columns wide"


def test_the_table_fits_80_columns_with_long_names() -> None:
    text = render_table([view_of(busy_shift()), view_of(shift_object())], NOW)
    assert_fits(text)
    lines = text.splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "PHASE", "STEP", "WEIGHT", "GATES", "AGE"]
    assert lines[1].split()[2:] == ["Progressing", "1/2", "50%", "0/1", "30s"]
    assert lines[2].split()[2:] == ["Pending", "0/2", "0%", "0/0", "30s"]


def test_the_detail_view_fits_80_columns_and_shows_gates_route_and_history() -> None:
    route = [{"subset": "v1", "weight": 50}, {"subset": "v3", "weight": 50}]
    text = render_detail(view_of(busy_shift()), route, NOW)
    assert_fits(text)
    assert "route now:  v1 50%, v3 50%" in text
    assert "4.512" in text
    assert "Fail" in text
    assert "next step:  in 10s" in text
    assert "ShiftStarted" in text


def test_history_shows_the_time_between_transitions() -> None:
    view = view_of(busy_shift())
    lines = render_history(view.status.history)
    assert_fits("\n".join(lines))
    paused = next(line for line in lines if "Paused" in line and "12:00:45" in line)
    assert paused.split()[:5] == ["12:00:45", "45s", "1", "50%", "Paused"]


def test_the_document_has_the_documented_keys() -> None:
    obj = shift_object(
        status=progressing(),
    )
    obj["metadata"]["annotations"] = {
        "weightgate.dev/intent": "abort",
        "weightgate.dev/intent-id": "i-1",
        "weightgate.dev/intent-by": "me",
    }
    document = shift_document(view_of(obj), NOW, route=[{"subset": "v1", "weight": 100}])
    assert set(document) == {
        "namespace", "name", "phase", "step", "steps", "weight", "gates", "ageSeconds",
        "nextStepInSeconds", "pendingIntent", "spec", "status", "route",
    }  # fmt: skip
    assert document["pendingIntent"] == {"id": "i-1", "action": "abort", "by": "me"}
    assert (document["phase"], document["step"], document["steps"]) == ("Progressing", 1, 2)
    assert document["ageSeconds"] == 30.0


def test_an_unparseable_shift_still_renders() -> None:
    obj = shift_object(status={"phase": "Invalid", "message": "spec.steps: bad"}, steps=[])
    text = render_detail(view_of(obj), None, NOW)
    assert "Invalid" in text
    assert "does not parse" in text
