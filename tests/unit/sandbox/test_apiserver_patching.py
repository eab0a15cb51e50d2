"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and the simplified strategic merge."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.sandbox.apiserver.errors import ApiError
from controller.sandbox.apiserver.patching import json_patch, merge_patch
from controller.sandbox.apiserver.strategic import strategic_merge_patch

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [  # The examples of RFC 7386, appendix A.
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_the_rfc_examples(target: Any, patch: Any, expected: Any) -> None:
    assert merge_patch(target, patch) == expected


@given(st.dictionaries(st.text(max_size=3), JSON_VALUES, max_size=4))
def test_merge_patch_of_an_object_with_itself_drops_only_nulls(document: dict[str, Any]) -> None:
    result = merge_patch(document, document)
    assert set(result) == {k for k, v in document.items() if v is not None}


def test_json_patch_supports_every_operation() -> None:
    doc = {"spec": {"steps": [1, 2], "name": "a"}, "x": {"y": 1}}
    patch = [
        {"op": "add", "path": "/spec/steps/1", "value": 9},
        {"op": "add", "path": "/spec/steps/-", "value": 3},
        {"op": "remove", "path": "/spec/name"},
        {"op": "replace", "path": "/x/y", "value": 2},
        {"op": "copy", "from": "/x", "path": "/copied"},
        {"op": "move", "from": "/copied/y", "path": "/moved"},
        {"op": "test", "path": "/spec/steps", "value": [1, 9, 2, 3]},
        {"op": "add", "path": "/a~1b", "value": "slash"},
    ]
    assert json_patch(doc, patch) == {
        "spec": {"steps": [1, 9, 2, 3]},
        "x": {"y": 2},
        "copied": {},
        "moved": 2,
        "a/b": "slash",
    }
    assert doc["spec"]["steps"] == [1, 2], "the input must not be changed"


@pytest.mark.parametrize(
    "patch",
    [
        [{"op": "test", "path": "/a", "value": 2}],
        [{"op": "test", "path": "/a", "value": True}],
        [{"op": "remove", "path": "/missing"}],
        [{"op": "replace", "path": "/list/5", "value": 1}],
        [{"op": "add", "path": "/nope/deeper", "value": 1}],
    ],
)
def test_json_patch_that_cannot_apply_is_422(patch: list[dict[str, Any]]) -> None:
    with pytest.raises(ApiError) as caught:
        json_patch({"a": 1, "list": [0]}, patch)
    assert caught.value.code == 422


@pytest.mark.parametrize(
    "patch",
    [
        {"op": "add"},
        [{"op": "jump", "path": "/a"}],
        [{"op": "add", "path": "/a"}],
        [{"op": "add", "path": "a", "value": 1}],
    ],
)
def test_malformed_json_patch_is_400(patch: Any) -> None:
    with pytest.raises(ApiError) as caught:
        json_patch({"a": 1}, patch)
    assert caught.value.code == 400


POD_SPEC = {
    "containers": [
        {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
        {"name": "proxy", "image": "proxy:1"},
    ],
    "volumes": [{"name": "tmp", "emptyDir": {}}],
}


def test_strategic_merge_merges_containers_by_name() -> None:
    patch = {
        "containers": [{"name": "app", "image": "app:2"}],
        "$setElementOrder/containers": [{"name": "app"}, {"name": "proxy"}],
    }
    result = strategic_merge_patch(POD_SPEC, patch)
    assert result["containers"][0] == {
        "name": "app",
        "image": "app:2",
        "env": [{"name": "A", "value": "1"}],
    }
    assert result["containers"][1] == {"name": "proxy", "image": "proxy:1"}


def test_strategic_merge_honours_delete_and_replace_directives() -> None:
    deleted = strategic_merge_patch(
        POD_SPEC, {"containers": [{"name": "proxy", "$patch": "delete"}]}
    )
    assert [c["name"] for c in deleted["containers"]] == ["app"]
    replaced = strategic_merge_patch(
        POD_SPEC, {"volumes": [{"name": "data"}, {"$patch": "replace"}]}
    )
    assert replaced["volumes"] == [{"name": "data"}]
    dropped_map = strategic_merge_patch({"a": {"b": 1}, "c": 2}, {"a": {"$patch": "delete"}})
    assert dropped_map == {"c": 2}


def test_strategic_merge_orders_retains_and_deletes_from_primitive_lists() -> None:
    reordered = strategic_merge_patch(
        POD_SPEC, {"$setElementOrder/containers": [{"name": "proxy"}, {"name": "app"}]}
    )
    assert [c["name"] for c in reordered["containers"]] == ["proxy", "app"]
    retained = strategic_merge_patch(
        {"strategy": {"type": "A", "rollingUpdate": {"x": 1}}},
        {"strategy": {"type": "Recreate", "$retainKeys": ["type"]}},
    )
    assert retained == {"strategy": {"type": "Recreate"}}
    trimmed = strategic_merge_patch(
        {"finalizers": ["a", "b"]}, {"$deleteFromPrimitiveList/finalizers": ["a"]}
    )
    assert trimmed == {"finalizers": ["b"]}


def test_strategic_merge_replaces_lists_without_a_merge_key_and_null_deletes() -> None:
    result = strategic_merge_patch(
        {"args": ["a", "b"], "keep": 1, "drop": 2}, {"args": ["c"], "drop": None}
    )
    assert result == {"args": ["c"], "keep": 1}
