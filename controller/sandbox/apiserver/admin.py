"""Client side of the ``/_sandbox/faults`` admin endpoint, for tests and the CLI.

Talks only to the sandbox server whose URL it is given (a loopback address in practice).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from .app import FAULTS_PATH


class AdminError(RuntimeError):
    """The admin endpoint refused the request; the message carries its Status message."""


def _call(url: str, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the URL is the sandbox server's own
        url.rstrip("/") + FAULTS_PATH,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            result: dict[str, Any] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}").get("message", str(error))
        raise AdminError(f"fault endpoint at {url} answered {error.code}: {detail}") from error


def inject_fault(url: str, **fields: Any) -> dict[str, Any]:
    """Add a fault rule (fields as FaultRule's); returns the rule with its id."""
    return _call(url, "POST", fields)


def list_faults(url: str) -> list[dict[str, Any]]:
    faults: list[dict[str, Any]] = _call(url, "GET")["faults"]
    return faults


def clear_faults(url: str) -> None:
    _call(url, "DELETE")
