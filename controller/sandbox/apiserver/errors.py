"""ApiError and the metav1 Status objects the sandbox API server answers failures with.

Clients (kubectl, client-go, the Python client) decide what to do from a Status's ``code`` and
``reason`` (``errors.IsConflict`` and friends), so every failure leaves the server through one of
these constructors with the code, reason and message wording a real API server uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JsonObject = dict[str, Any]

REASON_BY_CODE: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass(frozen=True)
class Cause:
    """One entry of ``details.causes``: what is wrong with which field."""

    reason: str
    message: str
    field: str

    def to_json(self) -> JsonObject:
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass
class ApiError(Exception):
    """A failed request, carried to the HTTP layer and rendered as a metav1 Status."""

    code: int
    message: str
    reason: str = ""
    details: JsonObject = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.reason:
            self.reason = REASON_BY_CODE.get(self.code, "Unknown")
        super().__init__(self.message)

    def status(self) -> JsonObject:
        """The metav1 Status body a real API server sends for this failure."""
        body: JsonObject = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def qualified(plural: str, group: str) -> str:
    """``virtualservices.networking.istio.io`` for custom groups, bare plural for core."""
    return f"{plural}.{group}" if group else plural


def _details(name: str, group: str, kind: str) -> JsonObject:
    details: JsonObject = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return details


def not_found(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        404, f'{qualified(plural, group)} "{name}" not found', details=_details(name, group, plural)
    )


def already_exists(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        f'{qualified(plural, group)} "{name}" already exists',
        reason="AlreadyExists",
        details=_details(name, group, plural),
    )


def conflict(plural: str, group: str, name: str, why: str = "") -> ApiError:
    why = why or (
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    )
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": {why}',
        details=_details(name, group, plural),
    )


def invalid(kind: str, group: str, name: str, causes: list[Cause]) -> ApiError:
    """422 Invalid listing every failed field, worded like the apiserver's field errors."""
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details = _details(name, group, kind)
    details["causes"] = [c.to_json() for c in causes]
    return ApiError(
        422, f'{kind}{"." + group if group else ""} "{name}" is invalid: {joined}', details=details
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def gone(message: str) -> ApiError:
    return ApiError(410, message, reason="Expired")


def unsupported_patch(accepted: list[str]) -> ApiError:
    return ApiError(
        415,
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
    )


def method_not_allowed(verb: str, what: str) -> ApiError:
    return ApiError(405, f"{verb} is not supported on {what}")


def path_not_found() -> ApiError:
    return ApiError(404, "the server could not find the requested resource", details={})


def forbidden(verb: str, plural: str, group: str, name: str, namespace: str) -> ApiError:
    """403 in the wording of the RBAC authorizer, used by fault injection."""
    subject = f'{qualified(plural, group)} "{name}"' if name else qualified(plural, group)
    scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    api_group = f'in API group "{group}"'
    return ApiError(
        403,
        f'{subject} is forbidden: User "system:serviceaccount:default:weightgate" cannot '
        f'{verb} resource "{plural}" {api_group}{scope}',
        details=_details(name, group, plural),
    )
