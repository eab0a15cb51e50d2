"""Kubernetes API failures as our own types, so callers act on them without the client.

``ConflictError``: someone wrote first (re-read and redo). ``UnavailableError``: try later.
``InvalidError``, ``ForbiddenError``, ``NotFoundError``: facts about the object or our rights.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error


class KubeError(Exception):
    """A Kubernetes API call failed; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFoundError(KubeError):
    pass


class ConflictError(KubeError):
    pass


class InvalidError(KubeError):
    pass


class ForbiddenError(KubeError):
    pass


class GoneError(KubeError):
    pass


class UnavailableError(KubeError):
    pass


_BY_STATUS: dict[int, type[KubeError]] = {
    400: InvalidError,
    401: ForbiddenError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    415: InvalidError,
    422: InvalidError,
}


def status_message(body: Any) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        return str(body)[:500]
    if isinstance(parsed, dict) and parsed.get("message"):
        return str(parsed["message"])
    return str(body)[:500]


def error_for_status(status: int | None, message: str) -> KubeError:
    """The error type for an HTTP (or watch ``ERROR`` event) status code."""
    return _BY_STATUS.get(status or 0, UnavailableError)(message, status)


def translate(exc: Exception, what: str) -> KubeError:
    """Our error for a client exception raised while doing ``what`` (e.g. 'get VirtualService
    bookinfo/reviews')."""
    if isinstance(exc, ApiException):
        status = int(exc.status) if exc.status else None
        detail = status_message(exc.body) if exc.body else (exc.reason or "")
        return error_for_status(status, f"{what}: HTTP {status}: {detail}")
    if isinstance(exc, Urllib3Error | OSError):
        return UnavailableError(f"{what}: API server unreachable: {exc}")
    return KubeError(f"{what}: {exc}")
