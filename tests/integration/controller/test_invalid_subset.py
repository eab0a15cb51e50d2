"""A TrafficShift whose canary subset is not in its DestinationRule is Invalid: a message that
names the subset and the fix, exit 2, and the VirtualService not written at all."""

from __future__ import annotations

from tests.integration.controller.harness import Harness


def test_missing_canary_subset_is_invalid_with_a_fix_and_the_route_untouched(
    harness: Harness,
) -> None:
    before = harness.reader.virtual_service()
    shift = harness.new_shift("missing-subset", spec={"canary": "v9"})

    result = harness.run(shift, deadline=60)

    assert result.code == 2, result.output
    status = harness.status(shift)
    assert status["phase"] == "Invalid"
    message = status["message"]
    for part in (
        "DestinationRule reviews",  # where
        "no subset named v9",  # what is wrong
        "v1, v2, v3",  # what exists
        "add subset v9",  # a fix in the DestinationRule ...
        "spec.stable/spec.canary",  # ... or in the TrafficShift
    ):
        assert part in message, f"{part!r} not in {message!r}"
    assert message in result.output
    valid = next(c for c in status["conditions"] if c["type"] == "Valid")
    assert (valid["status"], valid["reason"]) == ("False", "InvalidSpec")
    after = harness.reader.virtual_service()
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["spec"] == before["spec"]
