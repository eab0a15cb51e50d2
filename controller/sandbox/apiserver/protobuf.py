"""Decoding the protobuf request bodies that kubectl's typed clients send for a few built-ins.

Since Kubernetes 1.31 the typed clientset encodes built-in objects as protobuf
(``application/vnd.kubernetes.protobuf``), with no JSON fallback, so ``kubectl create namespace``,
``kubectl create configmap``, ``kubectl create secret generic`` and ``kubectl create
serviceaccount`` arrive that way. This module reads the ``k8s\\x00`` envelope and the field
numbers of exactly those kinds (from the Kubernetes ``generated.proto`` files) into the JSON
shape the rest of the server works with. Any other kind is answered 415 with what to do instead.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError

PROTOBUF = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"

# A field is (json name, kind, sub-message spec or None, repeated).
Field = tuple[str, str, "Spec | None", bool]
Spec = dict[int, Field]

_TIME: Spec = {1: ("seconds", "int", None, False), 2: ("nanos", "int", None, False)}
_OBJECT_REFERENCE: Spec = {
    1: ("kind", "string", None, False),
    2: ("namespace", "string", None, False),
    3: ("name", "string", None, False),
    4: ("uid", "string", None, False),
    5: ("apiVersion", "string", None, False),
    6: ("resourceVersion", "string", None, False),
    7: ("fieldPath", "string", None, False),
}
_OWNER_REFERENCE: Spec = {
    1: ("kind", "string", None, False),
    3: ("name", "string", None, False),
    4: ("uid", "string", None, False),
    5: ("apiVersion", "string", None, False),
    6: ("controller", "bool", None, False),
    7: ("blockOwnerDeletion", "bool", None, False),
}
_OBJECT_META: Spec = {
    1: ("name", "string", None, False),
    2: ("generateName", "string", None, False),
    3: ("namespace", "string", None, False),
    5: ("uid", "string", None, False),
    6: ("resourceVersion", "string", None, False),
    7: ("generation", "int", None, False),
    8: ("creationTimestamp", "time", _TIME, False),
    11: ("labels", "map", None, True),
    12: ("annotations", "map", None, True),
    13: ("ownerReferences", "message", _OWNER_REFERENCE, True),
    14: ("finalizers", "string", None, True),
}
KINDS: dict[str, Spec] = {
    "Namespace": {
        1: ("metadata", "message", _OBJECT_META, False),
        2: ("spec", "message", {1: ("finalizers", "string", None, True)}, False),
    },
    "ConfigMap": {
        1: ("metadata", "message", _OBJECT_META, False),
        2: ("data", "map", None, True),
        3: ("binaryData", "bytesmap", None, True),
        4: ("immutable", "bool", None, False),
    },
    "Secret": {
        1: ("metadata", "message", _OBJECT_META, False),
        2: ("data", "bytesmap", None, True),
        3: ("type", "string", None, False),
        4: ("stringData", "map", None, True),
        5: ("immutable", "bool", None, False),
    },
    "ServiceAccount": {
        1: ("metadata", "message", _OBJECT_META, False),
        2: ("secrets", "message", _OBJECT_REFERENCE, True),
        3: ("imagePullSecrets", "message", {1: ("name", "string", None, False)}, True),
        4: ("automountServiceAccountToken", "bool", None, False),
    },
}
_ENVELOPE: Spec = {
    1: (
        "typeMeta",
        "message",
        {1: ("apiVersion", "string", None, False), 2: ("kind", "string", None, False)},
        False,
    ),
    2: ("raw", "raw", None, False),
}


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if position >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[position]
        result |= (byte & 0x7F) << shift
        position += 1
        if not byte & 0x80:
            return result, position
        shift += 7


def wire_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """``(field number, wire type, value)`` for each field; length-delimited values as bytes."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = _varint(data, position)
            yield number, wire_type, value
        elif wire_type == 2:
            length, position = _varint(data, position)
            yield number, wire_type, data[position : position + length]
            position += length
        elif wire_type in (1, 5):
            size = 8 if wire_type == 1 else 4
            yield number, wire_type, int.from_bytes(data[position : position + size], "little")
            position += size
        else:
            raise ProtobufError(f"unsupported wire type {wire_type}")


def _map_entry(data: bytes, binary: bool) -> tuple[str, Any]:
    entry = {number: value for number, _, value in wire_fields(data)}
    key = entry.get(1, b"")
    raw = entry.get(2, b"")
    key_text = key.decode() if isinstance(key, bytes) else str(key)
    if not isinstance(raw, bytes):
        raise ProtobufError("map value is not length-delimited")
    return key_text, base64.b64encode(raw).decode() if binary else raw.decode()


def _scalar(kind: str, value: int | bytes, spec: Spec | None) -> Any:
    if kind == "string" and isinstance(value, bytes):
        return value.decode()
    if kind == "bool":
        return bool(value)
    if kind == "int" and isinstance(value, int):
        return value
    if kind == "time" and isinstance(value, bytes):
        seconds = decode_message(value, _TIME).get("seconds", 0)
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "message" and isinstance(value, bytes) and spec is not None:
        return decode_message(value, spec)
    if kind == "raw":
        return value
    raise ProtobufError(f"field of kind {kind} has an unexpected wire type")


def decode_message(data: bytes, spec: Spec) -> dict[str, Any]:
    """A message as a JSON-shaped dict, skipping fields the spec does not name."""
    result: dict[str, Any] = {}
    for number, _, value in wire_fields(data):
        if number not in spec:
            continue
        name, kind, sub, repeated = spec[number]
        if kind in ("map", "bytesmap"):
            if not isinstance(value, bytes):
                raise ProtobufError(f"{name} is not a map")
            key, item = _map_entry(value, kind == "bytesmap")
            result.setdefault(name, {})[key] = item
        elif repeated:
            result.setdefault(name, []).append(_scalar(kind, value, sub))
        else:
            decoded = _scalar(kind, value, sub)
            # gogo-protobuf writes zero values that JSON's omitempty would leave out.
            if decoded not in ("", 0, False):
                result[name] = decoded
    return result


def decode_object(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded built-in object, or 415 for kinds not covered."""
    if not body.startswith(_MAGIC):
        raise ApiError(415, "protobuf body without the k8s envelope: send JSON instead")
    try:
        envelope = decode_message(body[len(_MAGIC) :], _ENVELOPE)
        type_meta = envelope.get("typeMeta", {})
        kind = str(type_meta.get("kind", ""))
        spec = KINDS.get(kind)
        if spec is None:
            raise ApiError(
                415,
                f"the sandbox API server decodes protobuf only for {', '.join(sorted(KINDS))}; "
                f"send this {kind or 'object'} as JSON (for example with kubectl apply -f)",
            )
        raw = envelope.get("raw", b"")
        obj = decode_message(raw if isinstance(raw, bytes) else b"", spec)
    except ProtobufError as error:
        raise ApiError(400, f"could not decode the protobuf request body: {error}") from error
    obj["apiVersion"] = type_meta.get("apiVersion", "v1")
    obj["kind"] = kind
    return obj
