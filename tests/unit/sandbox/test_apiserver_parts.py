"""Selectors, routing, tables, the store's history, faults and protobuf decoding."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from controller.sandbox.apiserver.errors import ApiError
from controller.sandbox.apiserver.faults import FaultInjector, FaultRule, RequestInfo
from controller.sandbox.apiserver.protobuf import decode_object
from controller.sandbox.apiserver.protocol import Request, negotiate
from controller.sandbox.apiserver.routing import GroupVersionPath, ResourcePath, parse
from controller.sandbox.apiserver.selectors import field_matcher, label_matcher
from controller.sandbox.apiserver.store import Store
from controller.sandbox.apiserver.tables import human_age, json_path


def _obj(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "labels": labels}}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("a=1", True),
        ("a==2", False),
        ("a!=2", True),
        ("a in (1, 3)", True),
        ("a notin (1)", False),
        ("b", False),
        ("!b", True),
        ("a=1,!b", True),
        ("", True),
    ],
)
def test_label_selector_operators(selector: str, matches: bool) -> None:
    assert label_matcher(selector)(_obj("x", a="1")) is matches


def test_field_selector_reads_dotted_paths() -> None:
    assert field_matcher("metadata.name=x,metadata.namespace!=other")(_obj("x"))
    assert not field_matcher("metadata.name=y")(_obj("x"))
    with pytest.raises(ApiError):
        field_matcher("metadata.name")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/namespaces", ResourcePath("", "v1", "namespaces")),
        ("/api/v1/namespaces/ns1", ResourcePath("", "v1", "namespaces", name="ns1")),
        (
            "/api/v1/namespaces/ns1/status",
            ResourcePath("", "v1", "namespaces", name="ns1", subresource="status"),
        ),
        (
            "/api/v1/namespaces/ns1/configmaps/c",
            ResourcePath("", "v1", "configmaps", namespace="ns1", name="c"),
        ),
        (
            "/apis/g.io/v1/namespaces/n/foos/f/status",
            ResourcePath("g.io", "v1", "foos", namespace="n", name="f", subresource="status"),
        ),
        ("/apis/g.io/v1/foos", ResourcePath("g.io", "v1", "foos")),
        (
            "/apis/g.io/v1/watch/namespaces/n/foos",
            ResourcePath("g.io", "v1", "foos", namespace="n", legacy_watch=True),
        ),
        ("/apis/g.io/v1", GroupVersionPath("g.io", "v1")),
        ("/apis/g.io", GroupVersionPath("g.io", "")),
        ("/version", None),
    ],
)
def test_paths_parse_into_what_they_address(path: str, expected: object) -> None:
    assert parse(path) == expected


def test_accept_negotiation_prefers_table_when_kubectl_asks() -> None:
    kubectl = (
        "application/json;as=Table;v=v1;g=meta.k8s.io,"
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
    )
    assert negotiate(kubectl).form == "table"
    assert negotiate("application/json").form == "object"
    assert negotiate("application/vnd.kubernetes.protobuf, */*").form == "object"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "5s"),
        (119, "119s"),
        (150, "2m30s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (30 * 3600, "30h"),
        (3 * 86400 + 3600, "3d1h"),
        (40 * 86400, "40d"),
        (-3, "0s"),
    ],
)
def test_ages_print_like_kubectl(seconds: int, text: str) -> None:
    assert human_age(seconds) == text


def test_json_path_subset() -> None:
    obj = {
        "spec": {"hosts": ["a", "b"]},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Other", "status": "False"},
            ]
        },
    }
    assert json_path(obj, ".spec.hosts") == [["a", "b"]]
    assert json_path(obj, ".spec.hosts[1]") == ["b"]
    assert json_path(obj, '.status.conditions[?(@.type=="Ready")].status') == ["True"]
    assert json_path(obj, ".status.conditions[*].type") == ["Ready", "Other"]
    assert json_path(obj, ".missing.field") == []


def test_store_history_expires_old_versions_and_rebuilds_exact_lists() -> None:
    store = Store(history_limit=2)
    first = store.put("", "configmaps", {"metadata": {"name": "a", "namespace": "n"}})
    store.put("", "configmaps", {"metadata": {"name": "a", "namespace": "n"}, "data": {"x": "1"}})
    at_first = store.list_at("", "configmaps", int(first["metadata"]["resourceVersion"]))
    assert at_first[0].get("data") is None
    store.remove("", "configmaps", "n", "a")
    assert [e.type for e in store.events_after(1, "", "configmaps")] == ["MODIFIED", "DELETED"]
    with pytest.raises(ApiError) as caught:
        store.events_after(0, "", "configmaps")
    assert caught.value.code == 410


def test_fault_rules_fire_count_times_and_match_precisely() -> None:
    injector = FaultInjector()
    injector.add(FaultRule(verb="patch", resource="vs.networking.istio.io", status=503, count=2))
    request = RequestInfo("patch", "vs", "networking.istio.io", namespace="n", name="r")
    other = RequestInfo("patch", "vs", "other.io")
    assert injector.check(other) is None
    fired = [injector.check(request) for _ in range(3)]
    assert [a.error.code if a and a.error else None for a in fired] == [503, 503, None]


@pytest.mark.parametrize(
    "fields",
    [
        {"verb": "poke", "status": 500},
        {"status": 200},
        {"status": 500, "probability": 2.0},
        {"verb": "get"},
    ],
)
def test_invalid_fault_rules_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r".+"):
        FaultRule(**fields)


def _field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return bytes([number << 3]) + _varint(value)
    return bytes([(number << 3) | 2]) + _varint(len(value)) + value


def _varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def test_protobuf_configmap_decodes_into_json_shape() -> None:
    entry = _field(1, b"greeting") + _field(2, b"hello")
    metadata = _field(1, b"cm") + _field(3, b"ns") + _field(11, _field(1, b"a") + _field(2, b"b"))
    raw = _field(1, metadata) + _field(2, entry) + _field(4, 0)
    envelope = _field(1, _field(1, b"v1") + _field(2, b"ConfigMap")) + _field(2, raw)
    decoded = decode_object(b"k8s\x00" + envelope)
    assert decoded == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "ns", "labels": {"a": "b"}},
        "data": {"greeting": "hello"},
    }


def test_protobuf_secret_bytes_become_base64() -> None:
    raw = _field(1, _field(1, b"s")) + _field(2, _field(1, b"k") + _field(2, b"\x00\x01"))
    envelope = _field(1, _field(1, b"v1") + _field(2, b"Secret")) + _field(2, raw)
    assert decode_object(b"k8s\x00" + envelope)["data"] == {
        "k": base64.b64encode(b"\x00\x01").decode()
    }


def test_protobuf_of_an_unsupported_kind_is_415() -> None:
    envelope = _field(1, _field(1, b"apps/v1") + _field(2, b"Deployment")) + _field(2, b"")
    with pytest.raises(ApiError) as caught:
        decode_object(b"k8s\x00" + envelope)
    assert caught.value.code == 415


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"spec": {"max": NaN}}', "application/json"),
        (b'{"spec": {"max": Infinity}}', "application/json"),
        (b'{"spec": {"max": -Infinity}}', "application/json"),
        (b"spec: {max: .nan}\n", "application/yaml"),
        (b"spec: {gates: [{max: -.inf}]}\n", "application/yaml"),
    ],
)
def test_a_body_with_a_non_finite_number_is_a_bad_request(body: bytes, content_type: str) -> None:
    """As a real API server: JSON has no NaN or Infinity (issue #14: the sandbox stored one,
    after which `kubectl get -o yaml` failed)."""
    request = Request.build("POST", "/apis/x/v1/things", {"Content-Type": content_type}, body)
    with pytest.raises(ApiError) as info:
        request.json_body()
    assert info.value.code == 400


def test_finite_numbers_in_json_and_yaml_bodies_still_decode() -> None:
    json_body = Request.build("POST", "/x", {"Content-Type": "application/json"}, b'{"a": 1.5}')
    assert json_body.json_body() == {"a": 1.5}
    yaml_body = Request.build("POST", "/x", {"Content-Type": "application/yaml"}, b"a: 2.5\n")
    assert yaml_body.json_body() == {"a": 2.5}
