"""Fakes at the alerting package's own seam: a Transport that answers from a script."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from controller.alerts.transport import HttpAnswer, HttpRequest, TransportFailure


@dataclass
class ScriptedTransport:
    """Answers each POST with the next scripted answer (or failure); records every request."""

    script: list[HttpAnswer | TransportFailure | Exception] = field(default_factory=list)
    default: HttpAnswer = field(default_factory=lambda: HttpAnswer(200, "ok"))
    on_post: Callable[[HttpRequest], None] | None = None
    sent: list[HttpRequest] = field(default_factory=list)

    def post(self, request: HttpRequest) -> HttpAnswer:
        self.sent.append(request)
        if self.on_post is not None:
            self.on_post(request)
        outcome = self.script.pop(0) if self.script else self.default
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
