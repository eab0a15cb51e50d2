"""The owners record on a VirtualService: reading it (also when hand-edited), and the patch
operations that claim and release a route."""

from __future__ import annotations

from typing import Any

import pytest

from controller.routing import ManagedRoute
from controller.routing.ownership import OWNERS_ANNOTATION, claim, owner_of, owners, release
from controller.sandbox.apiserver.patching import json_patch

UNNAMED = ManagedRoute(index=1, name=None, host="reviews")
NAMED = ManagedRoute(index=0, name="canary-route", host="reviews")


def vs(annotations: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "reviews", "namespace": "bookinfo", "resourceVersion": "7"}
    if annotations is not None:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": {}}


def test_a_route_is_keyed_by_its_name_or_else_its_place() -> None:
    claimed = json_patch(vs(), claim(vs(), UNNAMED, "a"))
    claimed = json_patch(claimed, claim(claimed, NAMED, "b"))
    assert owners(claimed) == {"http[1]": "a", "canary-route": "b"}
    assert owner_of(claimed, NAMED) == "b"


def test_claiming_keeps_other_annotations_and_is_idempotent() -> None:
    start = vs({"team": "reviews"})
    claimed = json_patch(start, claim(start, UNNAMED, "a"))
    assert claimed["metadata"]["annotations"]["team"] == "reviews"
    assert claim(claimed, UNNAMED, "a") == []


def test_releasing_drops_only_this_shifts_claim_and_the_annotation_when_empty() -> None:
    both = json_patch(vs(), claim(vs(), UNNAMED, "a"))
    both = json_patch(both, claim(both, NAMED, "b"))
    assert release(both, UNNAMED, "someone-else") == []
    one = json_patch(both, release(both, UNNAMED, "a"))
    assert owners(one) == {"canary-route": "b"}
    none = json_patch(one, release(one, NAMED, "b"))
    assert OWNERS_ANNOTATION not in none["metadata"]["annotations"]


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", '{"http[1]": 5}', '{"http[1]": ""}', "null"])
def test_a_hand_edited_record_is_read_as_far_as_it_is_valid(raw: str) -> None:
    assert owner_of(vs({OWNERS_ANNOTATION: raw}), UNNAMED) is None
    # and claiming over it writes a valid record
    edited = vs({OWNERS_ANNOTATION: raw})
    assert owners(json_patch(edited, claim(edited, UNNAMED, "a"))) == {"http[1]": "a"}
