"""The HTTP-level request and response the application layer works with, and content negotiation.

Keeps http.server out of the application code: a Request is method, path, query, headers and
body bytes; a Response is status, JSON body, Content-Type and extra headers. Also parses the
``Accept`` header for the ``as=Table`` / ``as=PartialObjectMetadata`` forms kubectl asks for.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .errors import ApiError, JsonObject, bad_request
from .protobuf import PROTOBUF, decode_object

JSON = "application/json"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    @classmethod
    def build(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
        parts = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        lowered = {k.lower(): v for k, v in headers.items()}
        return cls(method.upper(), parts.path.rstrip("/") or "/", query, lowered, body)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", JSON).split(";")[0].strip().lower()

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("true", "1")

    def json_body(self) -> Any:
        """The decoded body; YAML is accepted too since kubectl can send it."""
        if not self.body:
            raise bad_request("the request needs a body: a JSON object")
        if self.content_type == PROTOBUF:
            return decode_object(self.body)
        try:
            return json.loads(self.body, parse_constant=_not_json)
        except ValueError as json_error:
            if "yaml" in self.content_type:
                import yaml  # noqa: PLC0415 - only the rare YAML body pays for the import

                try:
                    loaded = yaml.safe_load(self.body)
                except yaml.YAMLError as error:
                    raise bad_request(f"the request body is not valid YAML: {error}") from error
                if not _finite(loaded):
                    raise bad_request(
                        "the request body holds NaN or an infinity, which JSON cannot carry"
                    ) from json_error
                return loaded
            raise bad_request(
                f"couldn't decode the request body as JSON: {json_error}"
            ) from json_error


def _not_json(constant: str) -> Any:
    """Python's json reads NaN and Infinity; JSON (and so the real API server) has neither."""
    raise ValueError(f"invalid character {constant[0]!r} looking for beginning of value")


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


@dataclass
class Response:
    status: int
    body: Any
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()

    @classmethod
    def error(cls, error: ApiError) -> Response:
        return cls(error.code, error.status())

    @classmethod
    def ok(cls, body: JsonObject, status: int = 200) -> Response:
        return cls(status, body)


@dataclass(frozen=True)
class Representation:
    """How the client wants objects: plain, as a Table, or as PartialObjectMetadata."""

    form: str = "object"
    api_version: str = "meta.k8s.io/v1"

    @property
    def content_type(self) -> str:
        if self.form == "object":
            return JSON
        version = self.api_version.split("/")[1]
        as_name = "Table" if self.form == "table" else "PartialObjectMetadata"
        return f"{JSON};as={as_name};v={version};g=meta.k8s.io"


def negotiate(accept: str) -> Representation:
    """The first Accept clause the sandbox can serve (plain JSON when none asks for more)."""
    for clause in accept.split(","):
        params = dict(p.strip().split("=", 1) for p in clause.split(";")[1:] if "=" in p)
        as_name = params.get("as", "")
        version = params.get("v", "v1")
        if params.get("g") == "meta.k8s.io" and version in ("v1", "v1beta1"):
            if as_name == "Table":
                return Representation("table", f"meta.k8s.io/{version}")
            if as_name in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                return Representation("metadata", f"meta.k8s.io/{version}")
        if not as_name and clause.split(";")[0].strip() in (JSON, "*/*", "application/*"):
            return Representation()
    return Representation()


def warning_header(message: str) -> str:
    escaped = message.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'
