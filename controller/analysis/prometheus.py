"""The one module that talks to Prometheus: instant queries over HTTP, failures made plain.

Owns `PrometheusQueryClient`, the `QueryClient` the controller uses in production. It wraps
prometheus-api-client's `PrometheusConnect`, whose default session retries a failed request
three times with a growing back-off and so turns a dead Prometheus into many seconds per query;
here retries are off and every request has a short timeout, so an outage costs one bounded wait.
Every failure leaves as one `PrometheusError` whose message names the Prometheus and the cause;
no requests or urllib3 exception escapes.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry

from controller.analysis.client import FailureKind, PrometheusError, Sample

DEFAULT_TIMEOUT_SECONDS = 5.0
# How prometheus-api-client 0.7.2 reports a non-200 answer: the status and repr(body bytes).
_HTTP_FAILURE = re.compile(r"^HTTP Status Code (\d+) \((b(?:'.*'|\".*\"))\)$", re.DOTALL)
# 400: the query does not parse; 422: it parses but cannot be evaluated.
_BAD_QUERY_STATUSES = (400, 422)
_STATUS_HINTS = {
    401: "; set the credentials headers the Prometheus needs",
    403: "; set the credentials headers the Prometheus needs",
    404: "; check that the URL points at Prometheus itself (e.g. http://prometheus:9090)",
}
# urllib3 prefixes connection errors with the connection object's repr; the cause follows it.
_CONNECTION_PREFIX = re.compile(r"^(<[^>]*>|\w+\([^)]*\)): ")


class PrometheusQueryClient:
    """Instant queries against the Prometheus at `url`, one attempt each, `timeout_seconds` max."""

    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds is {timeout_seconds}: it must be above 0")
        self.url = url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        # Retry(total=0, read=False) is requests' own no-retry default: fail on the first error,
        # and re-raise a read timeout as a timeout rather than as "max retries exceeded".
        self._connect = PrometheusConnect(
            url=self.url,
            headers=dict(headers) if headers else None,
            retry=Retry(total=0, read=False),
            timeout=timeout_seconds,
        )

    def instant_query(self, promql: str) -> list[Sample]:
        """The result of `promql` evaluated now; [] when no series match."""
        try:
            # Prometheus gets the same deadline, so it stops evaluating when we stop waiting.
            # Plain seconds: its duration syntax has no fractions ("0.5s" is a 400).
            result = self._connect.custom_query(
                query=promql, params={"timeout": f"{self.timeout_seconds:g}"}
            )
        except PrometheusApiClientException as error:
            raise self._http_failure(str(error)) from None
        except requests.ConnectTimeout:
            raise PrometheusError(
                FailureKind.UNREACHABLE,
                f"Prometheus at {self._safe_url} did not accept a connection within "
                f"{self.timeout_seconds:g}s: check the URL and that Prometheus is running",
            ) from None
        except requests.Timeout:
            raise PrometheusError(
                FailureKind.TIMEOUT,
                f"Prometheus at {self._safe_url} did not answer within "
                f"{self.timeout_seconds:g}s: check that it is up and not overloaded",
            ) from None
        except requests.JSONDecodeError:  # before RequestException: it is both
            raise self._not_prometheus() from None
        except requests.RequestException as error:
            raise PrometheusError(
                FailureKind.UNREACHABLE,
                f"Prometheus at {self._safe_url} is unreachable: {_connection_reason(error)}; "
                "check the URL and that Prometheus is running",
            ) from None
        except (ValueError, KeyError, TypeError):
            raise self._not_prometheus() from None
        return self._samples(result)

    def close(self) -> None:
        self._connect.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def _safe_url(self) -> str:
        """The URL without any user:password, fit for a status message."""
        parts = urlsplit(self.url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urlunsplit(parts._replace(netloc=host))

    def _http_failure(self, text: str) -> PrometheusError:
        status, error_type, detail = parse_http_failure(text)
        label = f"HTTP {status} {error_type}".strip() if status else "an error"
        if error_type == "timeout":
            return PrometheusError(
                FailureKind.TIMEOUT,
                f"Prometheus at {self._safe_url} gave up on the query ({label}): {detail}",
            )
        if status in _BAD_QUERY_STATUSES:
            return PrometheusError(
                FailureKind.BAD_QUERY,
                f"Prometheus at {self._safe_url} rejected the query ({label}): {detail}; "
                "fix the gate's PromQL",
            )
        hint = _STATUS_HINTS.get(status or 0, "")
        return PrometheusError(
            FailureKind.SERVER,
            f"Prometheus at {self._safe_url} failed the query ({label}): {detail.strip()}{hint}",
        )

    def _not_prometheus(self) -> PrometheusError:
        return PrometheusError(
            FailureKind.SERVER,
            f"the answer from {self._safe_url}/api/v1/query is not a Prometheus API response: "
            "check that the URL points at Prometheus (no extra path)",
        )

    def _samples(self, result: Any) -> list[Sample]:
        if not isinstance(result, list):
            raise self._not_prometheus()
        if len(result) == 2 and not isinstance(result[0], dict):
            return [Sample(value=self._number(result[1]))]  # a scalar: [time, "value"]
        samples: list[Sample] = []
        for series in result:
            if not isinstance(series, dict):
                raise self._not_prometheus()
            if "values" in series:
                raise PrometheusError(
                    FailureKind.BAD_QUERY,
                    "the query returns a range vector (a selector ending in [window]): a gate "
                    "needs one number; wrap it in a function such as rate() or avg_over_time()",
                )
            value = series.get("value")
            if not isinstance(value, list) or len(value) != 2:
                raise self._not_prometheus()
            labels = series.get("metric") or {}
            samples.append(Sample(value=self._number(value[1]), labels=dict(labels)))
        return samples

    def _number(self, text: object) -> float:
        try:
            return float(str(text))  # Prometheus writes NaN, +Inf and -Inf as float() reads them
        except ValueError:
            raise PrometheusError(
                FailureKind.BAD_QUERY,
                f"the query returned {text!r}, not a number: a gate needs a numeric result",
            ) from None


def parse_http_failure(text: str) -> tuple[int | None, str, str]:
    """HTTP status, Prometheus's errorType and error text, from the library's exception text."""
    match = _HTTP_FAILURE.match(text)
    if match is None:
        return None, "", text
    status = int(match.group(1))
    try:
        raw = ast.literal_eval(match.group(2))
    except (ValueError, SyntaxError):
        return status, "", _shorten(match.group(2))
    body_text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    try:
        body = json.loads(body_text)
    except ValueError:
        return status, "", _shorten(body_text)
    if not isinstance(body, dict) or "error" not in body:
        return status, "", _shorten(body_text)
    return status, str(body.get("errorType", "")), str(body["error"])


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _connection_reason(error: requests.RequestException) -> str:
    """The innermost cause of a connection failure, without urllib3's object reprs."""
    cause: object = error.args[0] if error.args else error
    cause = getattr(cause, "reason", cause)
    return _CONNECTION_PREFIX.sub("", str(cause)) or type(error).__name__
