"""RBAC is exactly the least privilege the controller needs: no wildcards, no Secret listing,
cluster-wide only for shifts, Istio objects and Events; leases and Secrets only at home."""

from __future__ import annotations

from typing import Any

import pytest

from controller.kube.lease import LeaseConfig
from tests.unit.deploy.conftest import NAMESPACE, Rendered

Rule = tuple[str, str, str | None, frozenset[str]]  # group, resource, resourceName, verbs

CLUSTER_RULES: set[Rule] = {
    ("weightgate.dev", "trafficshifts", None, frozenset({"get", "list", "watch", "patch"})),
    ("weightgate.dev", "trafficshifts/status", None, frozenset({"update"})),
    ("networking.istio.io", "virtualservices", None, frozenset({"get", "list", "watch", "patch"})),
    ("networking.istio.io", "destinationrules", None, frozenset({"get", "list", "watch"})),
    ("", "events", None, frozenset({"create", "patch"})),
}
NAMESPACE_RULES: set[Rule] = {
    ("coordination.k8s.io", "leases", None, frozenset({"create"})),
    ("coordination.k8s.io", "leases", "weightgate-controller", frozenset({"get", "update"})),
    ("", "secrets", "weightgate-alerts", frozenset({"get"})),
}
SUBJECT = {"kind": "ServiceAccount", "name": "weightgate", "namespace": NAMESPACE}


def _rules(role: dict[str, Any]) -> set[Rule]:
    """One entry per (group, resource, name) so a rule split or merged differently compares
    equal, and a verb granted twice shows up as a difference."""
    flat: set[Rule] = set()
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for name in rule.get("resourceNames") or [None]:
                    flat.add((group, resource, name, frozenset(rule["verbs"])))
    return flat


def test_cluster_role_grants_exactly_the_cluster_wide_needs(rendered: Rendered) -> None:
    assert _rules(rendered.one("ClusterRole", "weightgate-controller")) == CLUSTER_RULES


def test_namespaced_role_grants_exactly_leases_and_named_secrets(rendered: Rendered) -> None:
    role = rendered.one("Role", "weightgate-controller")
    assert role["metadata"]["namespace"] == NAMESPACE
    assert _rules(role) == NAMESPACE_RULES


@pytest.mark.parametrize("kind", ["ClusterRole", "Role"])
def test_no_wildcards_and_no_non_resource_urls(rendered: Rendered, kind: str) -> None:
    for rule in rendered.one(kind)["rules"]:
        for field in ("apiGroups", "resources", "verbs", "resourceNames"):
            assert "*" not in rule.get(field, []), f"{kind} rule {rule}: wildcard in {field}"
        assert "nonResourceURLs" not in rule


@pytest.mark.parametrize("kind", ["ClusterRole", "Role"])
def test_secrets_are_never_listed_or_watched_and_only_read_by_name(
    rendered: Rendered, kind: str
) -> None:
    for rule in rendered.one(kind)["rules"]:
        if "secrets" in rule["resources"]:
            assert kind == "Role"
            assert set(rule["verbs"]) == {"get"}
            assert rule.get("resourceNames"), "Secrets must be named one by one"


@pytest.mark.parametrize("kind", ["ClusterRoleBinding", "RoleBinding"])
def test_bindings_give_the_roles_to_the_controller_service_account(
    rendered: Rendered, kind: str
) -> None:
    binding = rendered.one(kind)
    role_kind = kind.removesuffix("Binding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": role_kind,
        "name": rendered.one(role_kind)["metadata"]["name"],
    }
    assert binding["subjects"] == [SUBJECT]


def test_the_deployment_runs_as_the_bound_service_account(
    rendered: Rendered, deployment: dict[str, Any]
) -> None:
    account = rendered.one("ServiceAccount")
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]
    )
    assert account["metadata"]["name"] == SUBJECT["name"]


def test_lease_name_is_the_one_leader_election_uses() -> None:
    """The Role names the Lease; the elector must use the same name or renewals get 403."""
    lease_names = {name for _, resource, name, _ in NAMESPACE_RULES if resource == "leases"}
    assert LeaseConfig(namespace=NAMESPACE).name in lease_names
