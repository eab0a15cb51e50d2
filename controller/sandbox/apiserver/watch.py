"""Watch streams: the ADDED/MODIFIED/DELETED events one watch request should see, in order.

Without a resourceVersion (or with ``0``) a watch first replays the current objects as ADDED,
as the real server does; with one it starts right after it, or answers a single ERROR event
carrying a 410 Expired Status when the history no longer reaches back that far. Selectors are
applied the way the real watch cache applies them: an object that starts matching arrives as
ADDED, one that stops matching leaves as DELETED. ``sendInitialEvents`` ends the replay with a
BOOKMARK annotated ``k8s.io/initial-events-end``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .errors import ApiError, JsonObject
from .listing import ListQuery
from .protocol import Representation
from .selectors import field_matcher, label_matcher
from .store import Store, WatchEvent
from .tables import partial_metadata, table
from .writes import Target

IDLE_SECONDS = 0.5


@dataclass(frozen=True)
class WatchRequest:
    target: Target
    query: ListQuery
    representation: Representation
    include_object: str = "Metadata"
    send_initial_events: bool = False


class _Scope:
    def __init__(self, request: WatchRequest) -> None:
        self.namespace = request.target.namespace if request.target.type.namespaced else ""
        self.labels = label_matcher(request.query.label_selector)
        self.fields = field_matcher(request.query.field_selector)

    def __call__(self, obj: JsonObject | None) -> bool:
        if obj is None:
            return False
        in_namespace = not self.namespace or obj["metadata"].get("namespace") == self.namespace
        return in_namespace and self.labels(obj) and self.fields(obj)


def _event_type(event: WatchEvent, scope: _Scope) -> str | None:
    """The type this watcher sees, given selectors (None when the change is outside its view)."""
    now_in, was_in = scope(event.obj), scope(event.previous)
    if event.type == "DELETED":
        return "DELETED" if was_in else None
    if now_in and was_in:
        return "MODIFIED"
    if now_in:
        return "ADDED"
    return "DELETED" if was_in else None


class WatchStream:
    """An iterator of watch event bodies; yields None while idle so the writer can check in."""

    def __init__(
        self,
        store: Store,
        request: WatchRequest,
        render: Callable[[JsonObject, Target], JsonObject],
        stop: threading.Event,
    ) -> None:
        self.store = store
        self.request = request
        self.render = render
        self.stop = stop
        self.scope = _Scope(request)

    def _body(self, event_type: str, obj: JsonObject) -> JsonObject:
        target, representation = self.request.target, self.request.representation
        rendered = self.render(obj, target)
        rv = str(obj["metadata"].get("resourceVersion", ""))
        if representation.form == "table":
            body = table(
                target,
                [rendered],
                resource_version=rv,
                include=self.request.include_object,
                api_version=representation.api_version,
            )
            return {"type": event_type, "object": body}
        if representation.form == "metadata":
            return {"type": event_type, "object": partial_metadata(rendered)}
        return {"type": event_type, "object": rendered}

    def _bookmark(self, rv: int) -> JsonObject:
        target = self.request.target
        return {
            "type": "BOOKMARK",
            "object": {
                "kind": target.type.kind,
                "apiVersion": target.type.api_version(target.version),
                "metadata": {
                    "resourceVersion": str(rv),
                    "annotations": {"k8s.io/initial-events-end": "true"},
                },
            },
        }

    def _start(self) -> Iterator[JsonObject | int]:
        """Initial events, then the resourceVersion to follow from (as the last item)."""
        text = self.request.query.resource_version
        group, plural = self.request.target.type.group, self.request.target.type.plural
        if text in ("", "0") or self.request.send_initial_events:
            with self.store.locked():
                start = self.store.resource_version
                current = self.store.objects(group, plural)
            for obj in current:
                if self.scope(obj):
                    yield self._body("ADDED", obj)
            if self.request.send_initial_events:
                yield self._bookmark(start)
            yield start
            return
        try:
            start = int(text)
        except ValueError:
            start = -1
        self.store.check_not_expired(start)
        yield max(start, 0)

    def __iter__(self) -> Iterator[JsonObject | None]:
        group, plural = self.request.target.type.group, self.request.target.type.plural
        try:
            last = 0
            for item in self._start():
                if isinstance(item, int):
                    last = item
                else:
                    yield item
            while not self.stop.is_set():
                with self.store.changed:
                    events = self.store.events_after(last, group, plural)
                    if not events:
                        self.store.changed.wait(IDLE_SECONDS)
                        events = self.store.events_after(last, group, plural)
                    # Everything up to here was seen, so other types' writes cannot expire us.
                    caught_up = self.store.resource_version
                if not events:
                    yield None
                for event in events:
                    seen_as = _event_type(event, self.scope)
                    if seen_as is not None:
                        yield self._body(seen_as, event.obj)
                last = max(last, caught_up)
        except ApiError as error:
            yield {"type": "ERROR", "object": error.status()}
