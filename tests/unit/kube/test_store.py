"""The watch cache's ObjectStore: listed vs. unknown namespaces, resourceVersion order, sync."""

from __future__ import annotations

from typing import Any

import pytest

from controller.kube.errors import KubeError, NotFoundError
from controller.kube.resources import VIRTUAL_SERVICES
from controller.kube.store import ObjectStore


def obj(
    name: str, namespace: str = "bookinfo", version: str = "10", **extra: Any
) -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace, "resourceVersion": version}
    return {"metadata": meta, **extra}


@pytest.fixture
def store() -> ObjectStore:
    return ObjectStore(VIRTUAL_SERVICES)


def test_a_get_before_the_namespace_is_listed_is_a_retryable_error_not_a_not_found(
    store: ObjectStore,
) -> None:
    with pytest.raises(KubeError, match="not in the watch cache yet") as raised:
        store.get("bookinfo", "reviews")
    assert not isinstance(raised.value, NotFoundError)
    assert not store.synced("bookinfo")


def test_a_missing_object_in_a_listed_namespace_is_not_found(store: ObjectStore) -> None:
    store.sync("bookinfo", [obj("ratings")])
    assert store.synced("bookinfo")
    with pytest.raises(NotFoundError, match="VirtualService bookinfo/reviews not found"):
        store.get("bookinfo", "reviews")


def test_a_listed_object_is_returned_as_stored(store: ObjectStore) -> None:
    reviews = obj("reviews")
    store.sync("bookinfo", [reviews])
    assert store.get("bookinfo", "reviews") is reviews


def test_an_object_put_before_any_list_is_readable(store: ObjectStore) -> None:
    store.put(obj("reviews", version="3"))
    assert store.get("bookinfo", "reviews")["metadata"]["resourceVersion"] == "3"
    with pytest.raises(KubeError, match="not in the watch cache yet"):
        store.get("bookinfo", "ratings")


@pytest.mark.parametrize(
    ("stored", "given", "kept"),
    [
        ("10", "9", "10"),  # an older copy never replaces a newer one
        ("10", "10", "10"),
        ("9", "10", "10"),
        ("10", "100", "100"),  # compared as numbers, not as strings
        ("100", "99", "100"),
        ("abc", "1", "1"),  # opaque versions: the update is taken as newer
        ("10", "x7", "x7"),
        ("10", "", ""),
    ],
)
def test_put_and_watch_events_keep_the_newer_resource_version(
    store: ObjectStore, stored: str, given: str, kept: str
) -> None:
    for apply in (store.put, lambda o: store.apply("MODIFIED", o)):
        store.sync("bookinfo", [obj("reviews", version=stored)])
        apply(obj("reviews", version=given))
        assert store.get("bookinfo", "reviews")["metadata"]["resourceVersion"] == kept


def test_an_added_event_stores_the_object(store: ObjectStore) -> None:
    store.sync("bookinfo", [])
    store.apply("ADDED", obj("reviews", version="5"))
    assert store.get("bookinfo", "reviews")["metadata"]["resourceVersion"] == "5"


def test_a_deleted_event_removes_the_object(store: ObjectStore) -> None:
    store.sync("bookinfo", [obj("reviews", version="10")])
    store.apply("DELETED", obj("reviews", version="11"))
    with pytest.raises(NotFoundError):
        store.get("bookinfo", "reviews")
    assert len(store) == 0


def test_a_deleted_event_older_than_the_stored_copy_is_ignored(store: ObjectStore) -> None:
    """The delete of an earlier incarnation must not remove the object recreated since."""
    store.sync("bookinfo", [obj("reviews", version="10")])
    store.apply("DELETED", obj("reviews", version="9"))
    assert store.get("bookinfo", "reviews")["metadata"]["resourceVersion"] == "10"


def test_a_deleted_event_with_an_opaque_version_removes_the_object(store: ObjectStore) -> None:
    store.sync("bookinfo", [obj("reviews", version="10")])
    store.apply("DELETED", obj("reviews", version="opaque"))
    with pytest.raises(NotFoundError):
        store.get("bookinfo", "reviews")


def test_other_event_types_change_nothing(store: ObjectStore) -> None:
    store.sync("bookinfo", [obj("reviews", version="10")])
    store.apply("BOOKMARK", obj("reviews", version="20"))
    store.apply("ERROR", obj("ratings", version="20"))
    assert store.get("bookinfo", "reviews")["metadata"]["resourceVersion"] == "10"
    assert len(store) == 1


def test_sync_of_one_namespace_replaces_it_and_leaves_the_others(store: ObjectStore) -> None:
    store.sync("bookinfo", [obj("reviews"), obj("ratings")])
    store.sync("shop", [obj("cart", namespace="shop")])
    store.sync("bookinfo", [obj("reviews", version="11")])
    with pytest.raises(NotFoundError):
        store.get("bookinfo", "ratings")
    assert store.get("bookinfo", "reviews")["metadata"]["resourceVersion"] == "11"
    assert store.get("shop", "cart")["metadata"]["name"] == "cart"
    assert not store.synced("other")


def test_sync_does_not_step_back_to_an_older_listed_copy(store: ObjectStore) -> None:
    """A list that started before our write returned must not undo the write's copy."""
    store.put(obj("reviews", version="12"))
    store.sync("bookinfo", [obj("reviews", version="11")])
    assert store.get("bookinfo", "reviews")["metadata"]["resourceVersion"] == "12"


def test_sync_of_all_namespaces_replaces_everything_and_lists_every_namespace(
    store: ObjectStore,
) -> None:
    store.sync("bookinfo", [obj("reviews")])
    store.sync("shop", [obj("cart", namespace="shop")])
    store.sync(None, [obj("orders", namespace="shop")])
    assert len(store) == 1
    assert store.get("shop", "orders")["metadata"]["name"] == "orders"
    assert store.synced("never-seen-before")
    with pytest.raises(NotFoundError):
        store.get("bookinfo", "reviews")
    with pytest.raises(NotFoundError):
        store.get("never-seen-before", "x")
