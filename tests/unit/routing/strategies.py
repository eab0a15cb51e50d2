"""Hypothesis strategies: VirtualServices with one managed route among many other parts.

Each generated spec holds exactly one http route without `match` that sends the managed host to
the stable and/or canary subset (mid-shift at any weight, before the shift, or promoted), placed
anywhere among header/uri-match routes, routes to other hosts, redirects, and carrying retries,
timeout, fault, mirror and header rules; plus tcp/tls sections. With `unknown_fields` it also
carries fields Istio's schema does not know; without them every spec is schema-valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

STABLE, CANARY = "v1", "v3"
HOST_FORMS = ("reviews", "reviews.bookinfo.svc.cluster.local")

# Values never steer routing, so a few fixed words cover them and keep generation fast.
_words = st.sampled_from(("jason", "a1", "beta-users", "x", "0"))
_percent = st.floats(min_value=0, max_value=100, allow_nan=False).map(lambda v: round(v, 1))
_duration = st.integers(min_value=1, max_value=30).map(lambda n: f"{n}s")
_string_match = st.builds(
    lambda kind, value: {kind: value}, st.sampled_from(("exact", "prefix", "regex")), _words
)
_header_name = st.sampled_from(("end-user", "x-canary", "cookie"))
_header_ops = st.fixed_dictionaries(
    {},
    optional={
        "set": st.dictionaries(_header_name, _words, min_size=1, max_size=2),
        "add": st.dictionaries(_header_name, _words, min_size=1, max_size=2),
        "remove": st.lists(_header_name, min_size=1, max_size=2),
    },
)
_headers = st.fixed_dictionaries({}, optional={"request": _header_ops, "response": _header_ops})
_port = st.fixed_dictionaries({"number": st.integers(min_value=1, max_value=65535)})


@dataclass(frozen=True)
class Generated:
    """A spec and where its managed route is."""

    spec: dict[str, Any]
    index: int
    name: str | None
    host: str  # spec.hosts[0], which find_managed_route defaults to


def _unknown(unknown_fields: bool) -> st.SearchStrategy[dict[str, Any]]:
    if not unknown_fields:
        return st.just({})
    return st.dictionaries(st.sampled_from(("x-team", "futureField")), _words, max_size=1)


def _entry(host: st.SearchStrategy[str], subset: st.SearchStrategy[str], unknown: bool) -> Any:
    destination = st.builds(
        lambda h, s, extra: {"host": h, "subset": s, **extra},
        host,
        subset,
        st.fixed_dictionaries({}, optional={"port": _port}),
    )
    return st.builds(
        lambda d, extra, u: {"destination": d, **extra, **u},
        destination,
        st.fixed_dictionaries({}, optional={"headers": _headers}),
        _unknown(unknown),
    )


def _route_fields(unknown: bool) -> st.SearchStrategy[dict[str, Any]]:
    fault = st.one_of(
        st.fixed_dictionaries(
            {
                "delay": st.fixed_dictionaries(
                    {
                        "fixedDelay": _duration,
                        "percentage": st.fixed_dictionaries({"value": _percent}),
                    }
                )
            }
        ),
        st.fixed_dictionaries(
            {
                "abort": st.fixed_dictionaries(
                    {
                        "httpStatus": st.sampled_from((500, 503)),
                        "percentage": st.fixed_dictionaries({"value": _percent}),
                    }
                )
            }
        ),
    )
    retries = st.fixed_dictionaries(
        {"attempts": st.integers(min_value=0, max_value=5)},
        optional={
            "perTryTimeout": _duration,
            "retryOn": st.sampled_from(("5xx", "gateway-error,connect-failure")),
        },
    )
    fields = st.fixed_dictionaries(
        {},
        optional={
            "retries": retries,
            "timeout": _duration,
            "fault": fault,
            "headers": _headers,
            "mirror": st.fixed_dictionaries(
                {
                    "host": st.sampled_from(HOST_FORMS),
                    "subset": st.sampled_from(("v2", STABLE, CANARY)),
                }
            ),
            "mirrorPercentage": st.fixed_dictionaries({"value": _percent}),
        },
    )
    return st.builds(lambda f, u: {**f, **u}, fields, _unknown(unknown))


def _match() -> st.SearchStrategy[list[dict[str, Any]]]:
    headers = st.dictionaries(_header_name, _string_match, min_size=1, max_size=2)
    one = st.one_of(
        st.fixed_dictionaries({"headers": headers}),
        st.fixed_dictionaries({"uri": _string_match}, optional={"headers": headers}),
        st.fixed_dictionaries(
            {"queryParams": st.dictionaries(st.just("canary"), _string_match, min_size=1)}
        ),
    )
    return st.lists(one, min_size=1, max_size=2)


@st.composite
def _managed_route(draw: st.DrawFn, name: str | None, unknown: bool) -> dict[str, Any]:
    host = st.sampled_from(HOST_FORMS)
    stable = draw(_entry(host, st.just(STABLE), unknown))
    canary = draw(_entry(host, st.just(CANARY), unknown))
    shape = draw(st.sampled_from(("stable-only", "split", "split-canary-first", "canary-only")))
    weight = draw(st.integers(min_value=0, max_value=100))
    entries = {
        "stable-only": [stable],
        "canary-only": [canary],
        "split": [stable | {"weight": 100 - weight}, canary | {"weight": weight}],
        "split-canary-first": [canary | {"weight": weight}, stable | {"weight": 100 - weight}],
    }[shape]
    route = {"name": name} if name is not None else {}
    return {**route, **draw(_route_fields(unknown)), "route": entries}


def _other_route(unknown: bool) -> st.SearchStrategy[dict[str, Any]]:
    any_subset = st.sampled_from(("v1", "v2", "v3", "v4"))
    to_host_with_match = st.builds(
        lambda m, entry, fields: {"match": m, **fields, "route": [entry]},
        _match(),
        _entry(st.sampled_from(HOST_FORMS), any_subset, unknown),
        _route_fields(unknown),
    )
    # No `match` but not a candidate: another host, or subsets outside the shift.
    to_other_host = st.builds(
        lambda entry, fields: {**fields, "route": [entry]},
        _entry(st.just("ratings"), any_subset, unknown),
        _route_fields(unknown),
    )
    to_other_subset = st.builds(
        lambda entry: {"route": [entry]},
        _entry(st.sampled_from(HOST_FORMS), st.sampled_from(("v2", "v4")), unknown),
    )
    redirect = st.builds(
        lambda m, uri: {"match": m, "redirect": {"uri": f"/{uri}"}}, _match(), _words
    )
    named = st.builds(lambda r, n: {"name": f"other-{n}", **r}, to_host_with_match, _words)
    return st.one_of(to_host_with_match, to_other_host, to_other_subset, redirect, named)


def _tcp_tls() -> st.SearchStrategy[dict[str, Any]]:
    tcp = st.lists(
        st.fixed_dictionaries(
            {"route": st.just([{"destination": {"host": "mongodb", "port": {"number": 27017}}}])},
            optional={"match": st.just([{"port": 27017}])},
        ),
        min_size=1,
        max_size=2,
    )
    tls = st.lists(
        st.builds(
            lambda subset: {
                "match": [{"sniHosts": ["reviews.example.com"], "port": 443}],
                "route": [{"destination": {"host": "reviews", "subset": subset}}],
            },
            st.sampled_from((STABLE, CANARY)),
        ),
        min_size=1,
        max_size=2,
    )
    return st.fixed_dictionaries({}, optional={"tcp": tcp, "tls": tls})


@st.composite
def virtual_services(draw: st.DrawFn, *, unknown_fields: bool = True) -> Generated:
    """A VirtualService spec with exactly one managed route among other parts."""
    name = draw(st.one_of(st.none(), st.just("primary")))
    managed = draw(_managed_route(name, unknown_fields))
    others = draw(st.lists(_other_route(unknown_fields), max_size=4))
    index = draw(st.integers(min_value=0, max_value=len(others)))
    host = draw(st.sampled_from(HOST_FORMS))
    spec: dict[str, Any] = {
        "hosts": [host, "ratings"],
        **draw(
            st.fixed_dictionaries(
                {}, optional={"gateways": st.just(["mesh"]), "exportTo": st.just(["."])}
            )
        ),
        "http": [*others[:index], managed, *others[index:]],
        **draw(_tcp_tls()),
        **draw(_unknown(unknown_fields)),
    }
    return Generated(spec=spec, index=index, name=name, host=host)
