"""Keeping credentials out of delivery errors, which end up in status, events and logs.

Receiver URLs often carry their credential in the path (Slack's ``/services/T../B../token``) or
in userinfo or the query, so an error only ever shows a URL's scheme, host and port. Any text
that came from elsewhere (a receiver's answer) is also scrubbed of the secret values in play, in
every form an answer may echo them (raw, percent-encoded, JSON-escaped, a secret URL's path and
its token-like segments), and clipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, urlsplit

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


_WORD = re.compile(r"[a-z-]+")  # a path segment like "services" or "api" is no secret
MIN_SECRET_SEGMENT_CHARS = 8


def _forms(secret: str) -> set[str]:
    """Every form in which `secret` may come back in someone else's text: as it is, the path
    of a secret URL and each token-like segment of that path, and each of those
    percent-encoded (path or query style) or JSON-escaped (``\\/``)."""
    plain = {secret}
    if "://" in secret:
        path = urlsplit(secret).path
        plain.add(path)
        plain.update(
            segment
            for segment in path.split("/")
            if len(segment) >= MIN_SECRET_SEGMENT_CHARS and not _WORD.fullmatch(segment)
        )
    forms = set(plain)
    for form in plain:
        forms.update(
            {
                quote(form, safe=""),
                quote(form, safe="/"),
                quote_plus(form),
                form.replace("/", "\\/"),
            }
        )
    return {form for form in forms if len(form.strip("/")) >= MIN_SCRUB_CHARS}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every form of every secret (see `_forms`) replaced by ***; percent-encoded
    forms whatever the case of their hex digits."""
    forms: set[str] = set()
    for secret in set(secrets):
        if len(secret) >= MIN_SCRUB_CHARS:
            forms |= _forms(secret)
    for form in sorted(forms, key=len, reverse=True):
        if "%" in form:
            text = re.sub(re.escape(form), REDACTED, text, flags=re.IGNORECASE)
        else:
            text = text.replace(form, REDACTED)
    return text


def clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
