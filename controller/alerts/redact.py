"""Keeping credentials out of delivery errors, which end up in status, events and logs.

Receiver URLs often carry their credential in the path (Slack's ``/services/T../B../token``) or
in userinfo or the query, so an error only ever shows a URL's scheme, host and port. Any text
that came from elsewhere (a receiver's answer) is also scrubbed of the secret values in play
and clipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

REDACTED = "***"
MIN_SCRUB_CHARS = 4  # shorter "secrets" would blank out ordinary words


def redact_url(url: str) -> str:
    """``https://hooks.slack.com/services/T0/B0/x?y`` -> ``https://hooks.slack.com/***``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return REDACTED
    if not parts.scheme or not host:
        return REDACTED
    hidden = "/" + REDACTED if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{hidden}"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (and the URL-path form of it) replaced by ***."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= MIN_SCRUB_CHARS:
            text = text.replace(secret, REDACTED)
            path = urlsplit(secret).path if "://" in secret else ""
            if len(path.strip("/")) >= MIN_SCRUB_CHARS:
                text = text.replace(path, REDACTED)
    return text


def clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
