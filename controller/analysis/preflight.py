"""Pre-flight: every custom gate's own PromQL runs once before any traffic moves to the canary.

A gate whose query is broken (Prometheus rejects it, it answers with several series, a range
vector or not a number, or it cannot be rendered) would fail on every check of the shift. Found
before step 1, it makes the shift Invalid with the gate named, and not one request reaches the
canary. The queries are rendered for the stable subset, which has the traffic now (the canary has
none yet), so a query that is not aggregated shows its several series. An outage or a timeout
proves nothing about a query: the shift goes ahead, and its checks hold on the outage as they
would anyway. Builtin gates need no pre-flight: their PromQL is this project's, and its tests
run it on a real Prometheus.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.analysis.batched import CheckRequest
from controller.analysis.client import PrometheusError, QueryClient
from controller.analysis.evaluate import single_value
from controller.analysis.selectors import SelectorError
from controller.analysis.templates import TemplateError, custom_values, render_custom
from controller.analysis.verdicts import is_broken
from controller.api.gates import Gate


def _own_queries(gate: Gate) -> Iterator[tuple[str, str]]:
    """The gate's own PromQL templates, by field name; none for a builtin gate."""
    if gate.query is not None:
        yield "query", gate.query
    if gate.error_query is not None:
        yield "errorQuery", gate.error_query
    if gate.total_query is not None:
        yield "totalQuery", gate.total_query


def preflight(request: CheckRequest, client: QueryClient) -> list[str]:
    """What is wrong with the request's custom gates' queries, one line per broken query; []
    when every one ran (or Prometheus could not be asked: see the module docstring)."""
    values = custom_values(
        request.variables,
        canary=request.canary,
        stable=request.stable,
        subject=request.stable,
        window=request.window,
    )
    problems: list[str] = []
    for gate in request.gates:
        for field, template in _own_queries(gate):
            promql = template
            try:
                promql = render_custom(gate.name, template, values)
                single_value(client.instant_query(promql))
            except (TemplateError, SelectorError) as problem:
                problems.append(f"gate '{gate.name}' {field}: {problem}")
            except PrometheusError as error:
                if not is_broken(error):
                    return problems  # Prometheus is not answering: nothing more to learn now
                problems.append(f"gate '{gate.name}' {field}: {error.message} (query: {promql})")
    return problems


def preflight_message(problems: list[str]) -> str:
    """The Invalid message for a failed pre-flight."""
    return (
        "a gate's query is broken, so no traffic was moved to the canary: "
        + "; ".join(problems)
        + ". Fix the gate's PromQL (try it in the Prometheus UI on the stable version); "
        "the shift starts when its spec is fixed"
    )
