"""The one place that sends HTTP to alert receivers (``requests``), behind a small Protocol.

`RequestsTransport` POSTs with separate connect and read timeouts, never follows redirects (a
credential must not be replayed to another host) and reads at most a few KiB of the answer.
Failures come back as `TransportFailure` with a short, fixed description built here: the
exceptions of requests and urllib3 quote the full URL, which may hold a token, so their text is
never passed on. Tests of the dispatcher hand in another `Transport` at this seam.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import requests

ANSWER_PEEK_BYTES = 2048
USER_AGENT = "weightgate-alerts/1"


@dataclass(frozen=True)
class HttpRequest:
    url: str = field(repr=False)  # may itself be the credential (Slack)
    body: bytes = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)
    timeout_seconds: float = 2.0


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    text: str = ""  # the start of the body, for error messages (scrub before showing)
    retry_after_seconds: float | None = None


class TransportFailure(Exception):  # noqa: N818 - a delivery outcome, not a programming error
    """The request got no HTTP answer; `reason` is safe to show (no URL, no secret)."""

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


class Transport(Protocol):
    def post(self, request: HttpRequest) -> HttpAnswer:
        """Send `request`; raise `TransportFailure` when no HTTP answer came back."""
        ...


def _errors_in(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what it wraps (cause, context, exception arguments), breadth first."""
    seen: set[int] = set()
    queue: list[BaseException] = [exc]
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, *current.args]
        queue.extend(x for x in linked if isinstance(x, BaseException))


def _os_reason(exc: BaseException) -> str | None:
    """The operating system's words for the first errno in the chain, e.g. 'Connection refused'."""
    for error in _errors_in(exc):
        if isinstance(error, OSError) and error.errno is not None:
            return os.strerror(error.errno)
    return None


def _is_timeout(exc: BaseException) -> bool:
    return any(
        isinstance(error, TimeoutError) or "Timeout" in type(error).__name__
        for error in _errors_in(exc)
    )


def _timed_out(request: HttpRequest) -> TransportFailure:
    return TransportFailure(f"no answer within {request.timeout_seconds:g}s", timed_out=True)


def _retry_after(answer: requests.Response) -> float | None:
    value = answer.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


class RequestsTransport:
    """POST with `requests`: connect and read each bounded by the request's timeout."""

    def post(self, request: HttpRequest) -> HttpAnswer:
        headers = {"User-Agent": USER_AGENT, **request.headers}
        timeout = (request.timeout_seconds, request.timeout_seconds)
        try:
            with requests.post(
                request.url,
                data=request.body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            ) as answer:
                peek = next(answer.iter_content(ANSWER_PEEK_BYTES), b"")
                return HttpAnswer(
                    answer.status_code,
                    peek.decode("utf-8", errors="replace"),
                    _retry_after(answer),
                )
        # `from None` throughout: the original exceptions' text quotes the URL.
        except requests.Timeout:
            raise _timed_out(request) from None
        except requests.ConnectionError as exc:
            if _is_timeout(exc):  # a read timeout while streaming the body comes wrapped so
                raise _timed_out(request) from None
            why = _os_reason(exc) or "connection failed"
            raise TransportFailure(f"could not connect: {why}") from None
        except Exception as exc:  # noqa: BLE001 - one safe message for whatever else breaks
            raise TransportFailure(f"request failed ({type(exc).__name__})") from None
