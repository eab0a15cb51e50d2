"""How prometheus-api-client's non-200 exception text becomes a status, a type and a message.

The integration tests meet real 400 and 404 answers; these cover the shapes that are hard to
provoke from a real Prometheus (5xx, a timeout errorType, a body that is not JSON).
"""

from __future__ import annotations

import json

import pytest

from controller.analysis.client import FailureKind
from controller.analysis.prometheus import PrometheusQueryClient, parse_http_failure


def library_text(status: int, body: bytes) -> str:
    """The message prometheus-api-client 0.7.2 raises for a non-200 answer."""
    return f"HTTP Status Code {status} ({body!r})"


def prometheus_body(error_type: str, error: str) -> bytes:
    return json.dumps({"status": "error", "errorType": error_type, "error": error}).encode()


def test_a_prometheus_error_body_yields_its_type_and_text() -> None:
    text = library_text(400, prometheus_body("bad_data", 'parse error: unexpected "}"'))
    assert parse_http_failure(text) == (400, "bad_data", 'parse error: unexpected "}"')


def test_a_plain_text_body_is_kept_as_text() -> None:
    assert parse_http_failure(library_text(404, b"404 page not found\n")) == (
        404,
        "",
        "404 page not found\n",
    )


def test_a_long_html_body_is_shortened() -> None:
    status, error_type, detail = parse_http_failure(library_text(502, b"<html>" + b"x" * 500))
    assert (status, error_type, len(detail)) == (502, "", 200)
    assert detail.endswith("...")


def test_text_in_another_shape_is_passed_through() -> None:
    assert parse_http_failure("something else") == (None, "", "something else")


@pytest.mark.parametrize(
    ("status", "error_type", "kind", "fragment"),
    [
        (400, "bad_data", FailureKind.BAD_QUERY, "rejected the query (HTTP 400 bad_data)"),
        (422, "execution", FailureKind.BAD_QUERY, "rejected the query (HTTP 422 execution)"),
        (503, "timeout", FailureKind.TIMEOUT, "gave up on the query (HTTP 503 timeout)"),
        (500, "internal", FailureKind.SERVER, "failed the query (HTTP 500 internal)"),
    ],
)
def test_each_status_maps_to_one_failure_kind(
    status: int, error_type: str, kind: FailureKind, fragment: str
) -> None:
    client = PrometheusQueryClient("http://user:secret@127.0.0.1:9")
    error = client._http_failure(library_text(status, prometheus_body(error_type, "why")))
    assert error.kind is kind
    assert error.message.startswith(f"Prometheus at http://127.0.0.1:9 {fragment}: why")


def test_a_non_positive_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="timeout_seconds is 0"):
        PrometheusQueryClient("http://127.0.0.1:9", timeout_seconds=0)
