"""A QueryClient fake for the analysis seam: canned answers per exact PromQL string."""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.analysis.client import PrometheusError, Sample

Answer = list[Sample] | PrometheusError


def one(value: float) -> list[Sample]:
    """A one-series result holding `value`."""
    return [Sample(value=value)]


@dataclass
class FakeClient:
    """Answers each query from `answers`; an unexpected query fails the test that sent it."""

    answers: dict[str, Answer] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def instant_query(self, promql: str) -> list[Sample]:
        self.asked.append(promql)
        if promql not in self.answers:
            raise AssertionError(f"unexpected query: {promql}")
        answer = self.answers[promql]
        if isinstance(answer, PrometheusError):
            raise answer
        return answer
