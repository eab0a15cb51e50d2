"""What delivery errors may show of a receiver URL and of a receiver's answer."""

from __future__ import annotations

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
