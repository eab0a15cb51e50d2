"""A simplified strategic merge patch for built-in kinds, good enough for ``kubectl apply``.

The real server takes merge keys and strategies from the Go structs of every kind. This one
knows the merge keys by field name for the lists ``kubectl apply`` touches in the kinds the
sandbox serves (containers, env, ports, volumes, volumeMounts, conditions, ownerReferences...);
every other list is replaced whole, as in a JSON merge patch, and ``null`` deletes.

Directives honoured: ``$patch: replace|delete|merge`` in maps and as list elements,
``$setElementOrder/<list>`` (reorders the result), ``$retainKeys`` (drops unlisted keys) and
``$deleteFromPrimitiveList/<list>``. Unknown directives are dropped, never stored.
"""

from __future__ import annotations

import copy
from typing import Any

MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "ports": ("containerPort", "port"),
    "imagePullSecrets": ("name",),
    "ownerReferences": ("uid",),
    "conditions": ("type",),
    "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey",),
}
MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})
_ORDER = "$setElementOrder/"
_DELETE_FROM = "$deleteFromPrimitiveList/"


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Apply a strategic merge patch to a copy of ``target``."""
    return _merge_map(copy.deepcopy(target) if isinstance(target, dict) else {}, patch)


def _merge_map(original: dict[str, Any], patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip_directives(patch)
    if directive == "delete":
        return None
    result = dict(original)
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        merged = _merge_value(key, result.get(key), value)
        if merged is None:
            result.pop(key, None)
        else:
            result[key] = merged
    _apply_list_directives(result, patch)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_value(key: str, current: Any, value: Any) -> Any:
    if isinstance(value, dict):
        return _merge_map(current if isinstance(current, dict) else {}, value)
    if isinstance(value, list):
        return _merge_list(key, current if isinstance(current, list) else [], value)
    return value


def _merge_key(field: str, items: list[Any]) -> str | None:
    candidates = MERGE_KEYS.get(field, ())
    for candidate in candidates:
        if any(isinstance(item, dict) and candidate in item for item in items):
            return candidate
    return None


def _merge_list(field: str, current: list[Any], patch: list[Any]) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if not _is_directive(i)]
    if field in MERGED_PRIMITIVE_LISTS:
        return current + [v for v in patch if v not in current]
    key = _merge_key(field, current + patch)
    if key is None:
        return [_strip_directives(i) for i in patch]
    result = list(current)
    for item in patch:
        if not isinstance(item, dict):
            continue
        position = next(
            (
                n
                for n, old in enumerate(result)
                if isinstance(old, dict) and old.get(key) == item.get(key)
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if position is not None:
                del result[position]
        elif position is None:
            result.append(_strip_directives(item))
        else:
            result[position] = _merge_map(result[position], item)
    return result


def _apply_list_directives(result: dict[str, Any], patch: dict[str, Any]) -> None:
    for key, value in patch.items():
        if key.startswith(_DELETE_FROM) and isinstance(result.get(key[len(_DELETE_FROM) :]), list):
            field = key[len(_DELETE_FROM) :]
            result[field] = [v for v in result[field] if v not in value]
        elif key.startswith(_ORDER) and isinstance(result.get(key[len(_ORDER) :]), list):
            field = key[len(_ORDER) :]
            result[field] = _reorder(field, result[field], value)


def _reorder(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    key = _merge_key(field, items + order)

    def identity(item: Any) -> Any:
        return item.get(key) if key and isinstance(item, dict) else item

    wanted = [identity(o) for o in order]
    ranked = sorted(
        enumerate(items),
        key=lambda pair: (
            wanted.index(identity(pair[1])) if identity(pair[1]) in wanted else len(wanted),
            pair[0],
        ),
    )
    return [item for _, item in ranked]


def _is_directive(item: Any) -> bool:
    return isinstance(item, dict) and set(item) == {"$patch"}


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return copy.deepcopy(value)
