"""The sandbox mesh: a bookinfo-like productpage -> reviews (v1/v2/v3) with Istio telemetry.

Owns a tiny stand-in for an Istio mesh on one machine: a router that follows the `reviews`
VirtualService and DestinationRule like an Envoy sidecar, simulated reviews workloads with fault
knobs, Istio's standard request metrics, and a load generator. Run it with
`python -m controller.sandbox.mesh --port 0 --ready-file F --api URL --namespace bookinfo`.
"""

from controller.sandbox.mesh.app import Mesh, ProductPageResult
from controller.sandbox.mesh.server import MeshServer
from controller.sandbox.mesh.sources import (
    PollingRouteSource,
    RouteSource,
    StaticRouteSource,
    api_route_source,
    file_route_source,
)

__all__ = [
    "Mesh",
    "MeshServer",
    "PollingRouteSource",
    "ProductPageResult",
    "RouteSource",
    "StaticRouteSource",
    "api_route_source",
    "file_route_source",
]
