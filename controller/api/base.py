"""Shared pieces of the weightgate API models: the model base and name validators.

Every API model is strict about unknown fields (a typo in a TrafficShift must be an error, not a
silently ignored setting) and uses Kubernetes-style camelCase field names on the wire.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

API_GROUP = "weightgate.dev"
API_VERSION = "v1alpha1"
GROUP_VERSION = f"{API_GROUP}/{API_VERSION}"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Istio hosts may be short names, FQDNs or wildcards such as *.example.com.
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL_PATTERN = _DNS_LABEL.pattern
DNS_SUBDOMAIN_PATTERN = _DNS_SUBDOMAIN.pattern
HOST_PATTERN = _HOST.pattern


class ApiModel(BaseModel):
    """Base for every wire model: camelCase aliases, unknown fields rejected, numbers finite
    (a NaN or infinite threshold is no threshold, and not valid JSON)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
    )


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid name: use at most 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (e.g. 'v3', 'error-rate')"
        )
    return value


def _dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid Kubernetes object name: use lowercase letters, digits, "
            "'-' and '.', starting and ending with a letter or digit (e.g. 'reviews')"
        )
    return value


def _host(value: str) -> str:
    if len(value) > 253 or not _HOST.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid destination host: use a service name such as 'reviews' "
            "or a fully qualified name such as 'reviews.bookinfo.svc.cluster.local'"
        )
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
ObjectName = Annotated[str, AfterValidator(_dns_subdomain)]
Host = Annotated[str, AfterValidator(_host)]
