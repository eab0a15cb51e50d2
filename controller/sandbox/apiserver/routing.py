"""Parsing REST paths into the resource they address.

``/api/v1/...`` is the core group; ``/apis/{group}/{version}/...`` every other. After the
group/version come ``[namespaces/{ns}/]{plural}[/{name}[/{subresource}]]``, except that
``/api/v1/namespaces/{name}/status`` addresses the Namespace object itself. A legacy ``watch/``
segment right after the version turns the request into a watch.
"""

from __future__ import annotations

from dataclasses import dataclass

_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class ResourcePath:
    group: str
    version: str
    plural: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    legacy_watch: bool = False


@dataclass(frozen=True)
class GroupVersionPath:
    """A path that stops at the group/version (or group): a discovery document."""

    group: str
    version: str


def split_group_version(path: str) -> tuple[str, str, list[str]] | None:
    """``(group, version, rest)`` for /api and /apis paths; version is "" for ``/apis/{g}``."""
    segments = [s for s in path.split("/") if s]
    if len(segments) >= 2 and segments[0] == "api":
        return "", segments[1], segments[2:]
    if len(segments) >= 2 and segments[0] == "apis":
        version = segments[2] if len(segments) >= 3 else ""
        return segments[1], version, segments[3:]
    return None


def parse(path: str) -> ResourcePath | GroupVersionPath | None:
    """What ``path`` addresses, or None for anything outside /api and /apis."""
    split = split_group_version(path)
    if split is None:
        return None
    group, version, rest = split
    if not rest:
        return GroupVersionPath(group, version)
    legacy_watch = rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    namespace_object = (
        group == ""
        and len(rest) == 3
        and rest[0] == "namespaces"
        and rest[2] in _NAMESPACE_SUBRESOURCES
    )
    if rest[0] == "namespaces" and len(rest) >= 3 and not namespace_object:
        namespace, rest = rest[1], rest[2:]
    else:
        namespace = ""
    if not rest or len(rest) > 3:
        return None
    return ResourcePath(
        group=group,
        version=version,
        plural=rest[0],
        namespace=namespace,
        name=rest[1] if len(rest) > 1 else "",
        subresource=rest[2] if len(rest) > 2 else "",
        legacy_watch=legacy_watch,
    )
