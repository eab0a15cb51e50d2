"""SubsetSelector validation and rendering, and how a shift's selectors are derived."""

from __future__ import annotations

import pytest

from controller.analysis.selectors import (
    SelectorError,
    SubsetSelector,
    escape_label_value,
    service_short_name,
    shift_selectors,
)
from controller.api.trafficshift import TrafficShiftSpec

HOSTILE = [
    'v3"} or vector(1) #',
    'v3",destination_version=~".*',
    "v3\\",
    "v3\nup",
    "",
    "-v3",
    "v3-",
    "a" * 64,
    "v 3",
    "v3{}",
]


def spec(**analysis: object) -> TrafficShiftSpec:
    return TrafficShiftSpec.model_validate(
        {
            "virtualService": "reviews",
            "stable": "v1",
            "canary": "v3",
            "steps": [50, 100],
            "analysis": analysis,
        }
    )


def test_matchers_render_the_four_istio_labels_in_order() -> None:
    selector = SubsetSelector(service="reviews", namespace="bookinfo", version="v3")
    assert selector.matchers() == (
        'reporter="destination",destination_service_name="reviews",'
        'destination_workload_namespace="bookinfo",destination_version="v3"'
    )


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("field", ["service", "namespace", "version", "reporter"])
def test_a_value_outside_the_label_grammar_is_rejected_before_rendering(
    field: str, hostile: str
) -> None:
    values = {"service": "reviews", "namespace": "bookinfo", "version": "v3", field: hostile}
    with pytest.raises(SelectorError, match="not a valid Kubernetes name or label value"):
        SubsetSelector(**values)


def test_label_values_with_dots_underscores_and_capitals_are_accepted() -> None:
    selector = SubsetSelector(service="reviews", namespace="bookinfo", version="V1.2_rc-3")
    assert 'destination_version="V1.2_rc-3"' in selector.matchers()


def test_a_63_character_value_is_accepted_and_64_is_not() -> None:
    SubsetSelector(service="s" * 63, namespace="ns", version="v1")
    with pytest.raises(SelectorError, match="at most 63"):
        SubsetSelector(service="s" * 64, namespace="ns", version="v1")


def test_escaping_neutralises_quotes_backslashes_and_newlines() -> None:
    assert escape_label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


@pytest.mark.parametrize(
    ("host", "short"),
    [
        ("reviews", "reviews"),
        ("reviews.bookinfo", "reviews"),
        ("reviews.bookinfo.svc.cluster.local", "reviews"),
    ],
)
def test_the_service_is_the_short_name_of_the_host(host: str, short: str) -> None:
    assert service_short_name(host) == short


def test_subset_version_labels_pick_the_versions() -> None:
    selectors = shift_selectors(
        spec(),
        namespace="bookinfo",
        host="reviews.bookinfo.svc.cluster.local",
        subset_labels={"v1": {"version": "1.0"}, "v3": {"version": "3.0", "app": "reviews"}},
    )
    assert selectors.canary == SubsetSelector(
        service="reviews", namespace="bookinfo", version="3.0"
    )
    assert selectors.stable == SubsetSelector(
        service="reviews", namespace="bookinfo", version="1.0"
    )


def test_a_subset_without_a_version_label_is_selected_by_its_name() -> None:
    selectors = shift_selectors(
        spec(), namespace="bookinfo", host="reviews", subset_labels={"v3": {"app": "reviews"}}
    )
    assert (selectors.canary.version, selectors.stable.version) == ("v3", "v1")


def test_analysis_target_overrides_win_over_derived_values() -> None:
    overridden = spec(
        target={
            "service": "reviews-svc",
            "namespace": "team-a",
            "canaryVersion": "canary-7",
            "stableVersion": "stable-6",
        }
    )
    selectors = shift_selectors(
        overridden,
        namespace="bookinfo",
        host="reviews",
        subset_labels={"v1": {"version": "1.0"}, "v3": {"version": "3.0"}},
    )
    assert selectors.canary == SubsetSelector(
        service="reviews-svc", namespace="team-a", version="canary-7"
    )
    assert selectors.stable == SubsetSelector(
        service="reviews-svc", namespace="team-a", version="stable-6"
    )


def test_a_hostile_version_label_in_the_destination_rule_is_rejected_naming_the_subset() -> None:
    with pytest.raises(SelectorError, match="'version' label of DestinationRule subset 'v3'"):
        shift_selectors(
            spec(),
            namespace="bookinfo",
            host="reviews",
            subset_labels={"v3": {"version": 'v3"} or vector(1) #'}},
        )
