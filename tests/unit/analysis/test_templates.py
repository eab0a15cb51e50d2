"""Builtin and custom gate queries render to exactly the PromQL we expect, and only safely."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller.analysis.selectors import SelectorError, SubsetSelector
from controller.analysis.templates import (
    BUILTIN_TEMPLATES,
    ShiftVariables,
    TemplateError,
    custom_values,
    promql_range,
    render_builtin,
    render_custom,
    render_gate,
    render_request_count,
)
from controller.api.gates import BUILTIN_GATES, TEMPLATE_VARIABLES, Gate

CANARY = SubsetSelector(service="reviews", namespace="bookinfo", version="v3")
STABLE = SubsetSelector(service="reviews", namespace="bookinfo", version="v1")
SHIFT = ShiftVariables(namespace="bookinfo", virtual_service="reviews")
MINUTE = timedelta(minutes=1)
V3 = (
    'reporter="destination",destination_service_name="reviews",'
    'destination_workload_namespace="bookinfo",destination_version="v3"'
)

EXPECTED_BUILTINS = {
    "error-rate": (
        f'100 * (sum(rate(istio_requests_total{{{V3},response_code=~"5.."}}[1m])) or vector(0))'
        f" / sum(rate(istio_requests_total{{{V3}}}[1m]))"
    ),
    "latency-p50": (
        "histogram_quantile(0.5, sum by (le) "
        f"(rate(istio_request_duration_milliseconds_bucket{{{V3}}}[1m])))"
    ),
    "latency-p90": (
        "histogram_quantile(0.9, sum by (le) "
        f"(rate(istio_request_duration_milliseconds_bucket{{{V3}}}[1m])))"
    ),
    "latency-p99": (
        "histogram_quantile(0.99, sum by (le) "
        f"(rate(istio_request_duration_milliseconds_bucket{{{V3}}}[1m])))"
    ),
}


def test_every_builtin_gate_has_exactly_one_template() -> None:
    assert BUILTIN_TEMPLATES.keys() == BUILTIN_GATES.keys()


@pytest.mark.parametrize("name", sorted(EXPECTED_BUILTINS))
def test_builtin_renders_the_exact_query(name: str) -> None:
    assert render_builtin(name, CANARY, MINUTE) == EXPECTED_BUILTINS[name]


def test_error_rate_renders_the_literal_error_rate_query() -> None:
    """Spelled out once without helpers, so a template typo cannot hide behind V3."""
    assert render_builtin("error-rate", STABLE, timedelta(minutes=5)) == (
        '100 * (sum(rate(istio_requests_total{reporter="destination",'
        'destination_service_name="reviews",destination_workload_namespace="bookinfo",'
        'destination_version="v1",response_code=~"5.."}[5m])) or vector(0)) / '
        'sum(rate(istio_requests_total{reporter="destination",destination_service_name="reviews",'
        'destination_workload_namespace="bookinfo",destination_version="v1"}[5m]))'
    )


def test_request_count_renders_the_exact_query() -> None:
    assert render_request_count(CANARY, timedelta(seconds=90)) == (
        f"sum(increase(istio_requests_total{{{V3}}}[1m30s]))"
    )


@pytest.mark.parametrize(
    ("window", "text"),
    [
        (timedelta(seconds=30), "30s"),
        (timedelta(minutes=1), "1m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(hours=2, seconds=5), "2h5s"),
    ],
)
def test_windows_render_as_prometheus_durations(window: timedelta, text: str) -> None:
    assert promql_range(window) == text


def test_a_window_below_one_second_is_refused() -> None:
    with pytest.raises(TemplateError, match="at least '1s'"):
        promql_range(timedelta(milliseconds=500))


def test_custom_template_renders_every_variable() -> None:
    gate = Gate(
        name="saturation",
        query=(
            'max(x{ns="{{ namespace }}",svc="{{service}}",vs="{{ virtualService }}",'
            'c="{{ canary }}",s="{{ stable }}",v="{{ version }}"}[{{ window }}])'
        ),
        max=0.9,
    )
    rendered = render_gate(
        gate, subject=CANARY, canary=CANARY, stable=STABLE, window=MINUTE, variables=SHIFT
    )
    assert rendered == ('max(x{ns="bookinfo",svc="reviews",vs="reviews",c="v3",s="v1",v="v3"}[1m])')


def test_custom_template_judged_on_the_stable_side_gets_the_stable_version() -> None:
    gate = Gate(
        name="cpu",
        query='avg(rate(cpu{version="{{ version }}"}[{{ window }}]))',
        max_ratio_to_stable=1.5,
    )
    rendered = render_gate(
        gate, subject=STABLE, canary=CANARY, stable=STABLE, window=MINUTE, variables=SHIFT
    )
    assert rendered == 'avg(rate(cpu{version="v1"}[1m]))'


def test_custom_values_cover_every_documented_template_variable() -> None:
    values = custom_values(SHIFT, canary=CANARY, stable=STABLE, subject=CANARY, window=MINUTE)
    assert values.keys() == TEMPLATE_VARIABLES.keys()


def test_the_shift_namespace_may_differ_from_the_workload_namespace() -> None:
    workload = SubsetSelector(service="reviews", namespace="team-a", version="v3")
    values = custom_values(SHIFT, canary=workload, stable=STABLE, subject=workload, window=MINUTE)
    assert values["namespace"] == "bookinfo"


def test_builtin_gates_render_with_the_subject_selector() -> None:
    gate = Gate(name="latency-p99", max_over_stable=50)
    rendered = render_gate(
        gate, subject=STABLE, canary=CANARY, stable=STABLE, window=MINUTE, variables=SHIFT
    )
    assert 'destination_version="v1"' in rendered
    assert 'destination_version="v3"' not in rendered


def test_a_gate_with_no_query_that_is_not_builtin_is_a_template_error() -> None:
    gate = Gate(name="saturation", max=1)
    with pytest.raises(TemplateError, match="'saturation' has no query and is not a builtin"):
        render_gate(
            gate, subject=CANARY, canary=CANARY, stable=STABLE, window=MINUTE, variables=SHIFT
        )


def test_an_unknown_variable_is_a_template_error_naming_the_gate() -> None:
    with pytest.raises(
        TemplateError, match=r"gate 'g' uses unknown template variable \{\{ pod \}\}"
    ):
        render_custom("g", "x{pod='{{ pod }}'}", {"version": "v3"})


def test_rendering_escapes_substituted_values_anyway() -> None:
    rendered = render_custom("g", 'x{v="{{ version }}"}', {"version": 'a"b'})
    assert rendered == 'x{v="a\\"b"}'


@pytest.mark.parametrize(
    ("namespace", "virtual_service"),
    [('bookinfo"} or vector(1) #', "reviews"), ("bookinfo", 'reviews"} or vector(1) #')],
)
def test_hostile_shift_names_are_rejected_before_rendering(
    namespace: str, virtual_service: str
) -> None:
    with pytest.raises(SelectorError, match="not a valid Kubernetes"):
        ShiftVariables(namespace=namespace, virtual_service=virtual_service)


def test_a_long_dotted_virtual_service_name_is_a_valid_variable() -> None:
    name = "reviews." + "a" * 200
    assert ShiftVariables(namespace="bookinfo", virtual_service=name).virtual_service == name
