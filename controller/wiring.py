"""Building the controller's parts from settings: the Kubernetes client, the cluster adapter,
the Prometheus client, the gate profiles and the rollout policy. Shared by ``weightgate run``
and ``weightgate controller`` so both drive shifts the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.alerts import Dispatcher, SecretResolver
from controller.analysis.prometheus import PrometheusQueryClient
from controller.kube.client import KubeClient, load_configuration
from controller.kube.cluster import KubeCluster
from controller.kube.secrets import KubeSecretSource
from controller.manifests import load_profiles, profile_dir
from controller.reconcile import Dependencies
from controller.rollout import Policy
from controller.settings import Settings


@dataclass
class Wired:
    deps: Dependencies
    cluster: KubeCluster
    client: KubeClient
    prometheus: PrometheusQueryClient
    alerts: Dispatcher

    def close(self) -> None:
        self.alerts.close()
        self.client.close()
        self.prometheus.close()


def wire(settings: Settings) -> Wired:
    """Raises KubeError (credentials) or ManifestError (profiles) with a message to act on."""
    profiles = load_profiles(profile_dir(settings.gate_profiles_dir))
    client = KubeClient(load_configuration(settings.kubeconfig), settings.kube_timeout_seconds)
    cluster = KubeCluster(client, istio_version=settings.istio_api_version)
    prometheus = PrometheusQueryClient(
        settings.prometheus_url, timeout_seconds=settings.prometheus_timeout_seconds
    )
    # Secrets without a namespace are read from the controller's own (where its Role allows).
    secrets = SecretResolver(kube=KubeSecretSource(client, settings.lease_namespace))
    alerts = Dispatcher(settings.alerts, secrets=secrets)
    deps = Dependencies(
        cluster=cluster,
        prometheus=prometheus,
        profiles=profiles,
        policy=Policy(drift=settings.drift_policy.value),
        check_interval=settings.check_interval,
        alerts=alerts,
        alert_settings=settings.alerts,
        custom_query_namespaces=None
        if settings.custom_query_namespaces is None
        else frozenset(settings.custom_query_namespaces),
    )
    return Wired(deps, cluster, client, prometheus, alerts)
