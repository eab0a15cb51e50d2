"""Resource endpoints: one REST request on a resource path, from verb to Response.

Decides the verb (get/list/watch/create/update/patch/delete/deletecollection) from method and
path, asks the fault injector whether this request should fail or wait, reads the query options
(fieldValidation, dryRun, selectors, resourceVersion, timeoutSeconds, includeObject) and renders
the answer in the representation the client negotiated (object, Table, or metadata).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .errors import JsonObject, bad_request, method_not_allowed, path_not_found
from .faults import FaultInjector, RequestInfo
from .listing import ListQuery
from .protobuf import PROTOBUF
from .protocol import Representation, Request, Response, negotiate, warning_header
from .registry import Registry
from .resources import Resources, render
from .routing import ResourcePath
from .tables import partial_metadata, table
from .watch import WatchRequest, WatchStream
from .writes import FIELD_VALIDATION_MODES, Target, WriteOptions


@dataclass
class WatchResponse:
    """A streaming answer: the handler writes each event as one chunk until the deadline."""

    stream: WatchStream
    content_type: str
    deadline: float | None


def verb_of(request: Request, path: ResourcePath) -> str:
    if request.method == "GET":
        if path.name:
            return "get"
        return "watch" if path.legacy_watch or request.flag("watch") else "list"
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch"}
    if request.method == "DELETE":
        return "delete" if path.name else "deletecollection"
    if request.method in verbs:
        return verbs[request.method]
    raise method_not_allowed(request.method, path.plural)


def _list_query(request: Request) -> ListQuery:
    limit = request.query.get("limit", "0") or "0"
    if not limit.isdigit():
        raise bad_request(f'invalid limit "{limit}": must be a non-negative integer')
    return ListQuery(
        label_selector=request.query.get("labelSelector", ""),
        field_selector=request.query.get("fieldSelector", ""),
        resource_version=request.query.get("resourceVersion", ""),
        resource_version_match=request.query.get("resourceVersionMatch", ""),
        limit=int(limit),
        continue_token=request.query.get("continue", ""),
    )


def _write_options(request: Request) -> WriteOptions:
    mode = request.query.get("fieldValidation", "") or "Warn"
    if mode not in FIELD_VALIDATION_MODES:
        raise bad_request(
            f'invalid fieldValidation "{mode}": use one of {", ".join(FIELD_VALIDATION_MODES)}'
        )
    return WriteOptions(field_validation=mode, dry_run=request.query.get("dryRun") == "All")


class ResourceEndpoints:
    """Serves every request under /api/v1 and /apis/{group}/{version} that names a resource."""

    def __init__(
        self, resources: Resources, registry: Registry, faults: FaultInjector, stop: threading.Event
    ) -> None:
        self.resources = resources
        self.registry = registry
        self.faults = faults
        self.stop = stop

    def handle(self, request: Request, path: ResourcePath) -> Response | WatchResponse:
        resource_type = self.registry.find(path.group, path.version, path.plural)
        if resource_type is None:
            raise path_not_found()
        if path.subresource not in ("", "status") or (
            path.subresource and not Target(resource_type, path.version).has_status
        ):
            raise path_not_found()
        namespace = path.namespace if resource_type.namespaced else ""
        if resource_type.namespaced and path.name and not namespace:
            raise path_not_found()
        if not resource_type.namespaced and path.namespace:
            raise path_not_found()
        target = Target(resource_type, path.version, namespace, path.name, path.subresource)
        verb = verb_of(request, path)
        self._inject_faults(verb, target)
        return self._serve(verb, request, target)

    def _inject_faults(self, verb: str, target: Target) -> None:
        info = RequestInfo(
            verb,
            target.type.plural,
            target.type.group,
            target.subresource,
            target.namespace,
            target.name,
        )
        action = self.faults.check(info)
        if action is None:
            return
        if action.latency_ms:
            time.sleep(action.latency_ms / 1000)
        if action.error is not None:
            raise action.error

    def _serve(self, verb: str, request: Request, target: Target) -> Response | WatchResponse:
        representation = negotiate(request.headers.get("accept", ""))
        if target.subresource and verb not in ("get", "update", "patch"):
            raise method_not_allowed(request.method, f"{target.type.plural}/status")
        if verb == "watch":
            return self._watch(request, target, representation)
        if verb == "list":
            listed = self.resources.list(target, _list_query(request))
            return self._present_list(request, target, listed, representation)
        if verb == "get":
            return self._present_one(request, target, self.resources.get(target), representation)
        if verb in ("delete", "deletecollection"):
            return self._delete(verb, request, target)
        options = _write_options(request)
        if verb == "create":
            obj = self.resources.create(target, request.json_body(), options)
            status = 201
        elif verb == "update":
            obj = self.resources.update(target, request.json_body(), options)
            status = 200
        else:
            obj = self.resources.patch(target, request.content_type, request.json_body(), options)
            status = 200
        response = Response(status, obj)
        response.headers.extend(("Warning", warning_header(w)) for w in options.warnings)
        return response

    def _delete(self, verb: str, request: Request, target: Target) -> Response:
        dry_run = request.query.get("dryRun") == "All"
        if verb == "deletecollection":
            return Response(
                200, self.resources.delete_collection(target, _list_query(request), dry_run)
            )
        # A typed client's protobuf DeleteOptions carries nothing the sandbox acts on.
        wants_options = request.body and request.content_type != PROTOBUF
        options = request.json_body() if wants_options else {}
        if not isinstance(options, dict):
            raise bad_request("the DeleteOptions body must be a JSON object")
        deleted = self.resources.delete(target, options, dry_run)
        if deleted["metadata"].get("finalizers") and not dry_run:
            # Marked for deletion, gone once they are removed: the object, with 200 as a real
            # server answers (202 only to a client that set orphanDependents: false).
            return Response(202 if options.get("orphanDependents") is False else 200, deleted)
        if target.type.custom or target.type.kind in ("Namespace", "Pod", "Service"):
            return Response(200, deleted)
        return Response(200, _success(target, deleted))

    def _present_one(
        self, request: Request, target: Target, obj: JsonObject, representation: Representation
    ) -> Response:
        if representation.form == "table":
            rv = str(obj["metadata"].get("resourceVersion", ""))
            include = request.query.get("includeObject", "Metadata")
            body = table(
                target,
                [obj],
                resource_version=rv,
                include=include,
                api_version=representation.api_version,
            )
            return Response(200, body, representation.content_type)
        if representation.form == "metadata":
            return Response(200, partial_metadata(obj), representation.content_type)
        return Response(200, obj)

    def _present_list(
        self, request: Request, target: Target, listed: JsonObject, representation: Representation
    ) -> Response:
        rv = listed["metadata"]["resourceVersion"]
        extra = {k: v for k, v in listed["metadata"].items() if k != "resourceVersion"}
        if representation.form == "table":
            include = request.query.get("includeObject", "Metadata")
            body = table(
                target,
                listed["items"],
                resource_version=rv,
                include=include,
                api_version=representation.api_version,
                extra_metadata=extra,
            )
            return Response(200, body, representation.content_type)
        if representation.form == "metadata":
            body = {
                "kind": "PartialObjectMetadataList",
                "apiVersion": representation.api_version,
                "metadata": listed["metadata"],
                "items": [partial_metadata(o) for o in listed["items"]],
            }
            return Response(200, body, representation.content_type)
        return Response(200, listed)

    def _watch(
        self, request: Request, target: Target, representation: Representation
    ) -> WatchResponse:
        timeout = request.query.get("timeoutSeconds", "")
        if timeout and not timeout.isdigit():
            raise bad_request(f'invalid timeoutSeconds "{timeout}": must be a whole number')
        watch_request = WatchRequest(
            target=target,
            query=_list_query(request),
            representation=representation,
            include_object=request.query.get("includeObject", "Metadata"),
            send_initial_events=request.flag("sendInitialEvents"),
        )
        stream = WatchStream(self.resources.store, watch_request, render, self.stop)
        deadline = time.monotonic() + int(timeout) if timeout else None
        return WatchResponse(stream, representation.content_type, deadline)


def _success(target: Target, deleted: JsonObject) -> JsonObject:
    details: JsonObject = {
        "name": deleted["metadata"]["name"],
        "kind": target.type.plural,
        "uid": deleted["metadata"].get("uid", ""),
    }
    if target.type.group:
        details["group"] = target.type.group
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }
