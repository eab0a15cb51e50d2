"""What delivery errors may show of a receiver URL and of a receiver's answer."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest

from controller.alerts.redact import clip, redact_url, scrub


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/tok", "https://hooks.slack.com/***"),
        ("http://user:pass@am.example:9093/api/v2/alerts", "http://am.example:9093/***"),
        ("https://hooks.example/?token=abc", "https://hooks.example/***"),
        ("http://am.example:9093", "http://am.example:9093"),
        ("http://am.example:9093/", "http://am.example:9093"),
        ("not a url", "***"),
        ("http://[::1", "***"),
    ],
)
def test_only_scheme_host_and_port_of_a_url_are_shown(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_scrub_removes_secrets_and_the_path_of_secret_urls() -> None:
    secret_url = "https://hooks.slack.com/services/T0/B0/tok123"
    text = f"bad {secret_url} and /services/T0/B0/tok123 and key s3cr3t"
    assert scrub(text, [secret_url, "s3cr3t"]) == "bad *** and *** and key ***"


def test_scrub_leaves_text_alone_for_very_short_secrets() -> None:
    assert scrub("a b c", ["a"]) == "a b c"


def test_clip_flattens_whitespace_and_bounds_length() -> None:
    assert clip("one\n  two\tthree", 100) == "one two three"
    assert clip("x" * 50, 10) == "x" * 9 + "…"


SLACK = "https://hooks.slack.com/services/T0ABCDEF1/B0ABCDEF2/xyzTOKEN1234567890abcd"


@pytest.mark.parametrize(
    "echoed",
    [
        SLACK,
        quote(SLACK, safe=""),  # a receiver that echoes the URL percent-encoded (issue #14)
        quote(SLACK, safe="").replace("%2F", "%2f"),
        quote("/services/T0ABCDEF1/B0ABCDEF2/xyzTOKEN1234567890abcd", safe=""),
        quote_plus(SLACK),
        SLACK.replace("/", "\\/"),  # JSON-escaped
        "unknown webhook xyzTOKEN1234567890abcd",  # the token segment alone
        "channel T0ABCDEF1 hook B0ABCDEF2",
    ],
)
def test_scrub_removes_every_form_of_a_secret_url(echoed: str) -> None:
    scrubbed = scrub(f"receiver said: {echoed}", [SLACK])
    for part in ("xyzTOKEN1234567890abcd", "T0ABCDEF1", "B0ABCDEF2"):
        assert part.lower() not in scrubbed.lower()
    assert scrubbed.startswith("receiver said: ")


def test_scrub_keeps_ordinary_words_of_a_secret_urls_path() -> None:
    assert scrub("no such services here", [SLACK]) == "no such services here"
