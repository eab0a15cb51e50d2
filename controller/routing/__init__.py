"""weightgate.routing: the pure VirtualService weight engine.

It owns all arithmetic on the one http route a TrafficShift manages: finding that route, reading
its stable/canary split, writing a new split, promoting, rolling back, the JSON patch that writes
only that route, and the DestinationRule subset checks. Functions take the `spec` dict of a
VirtualService or DestinationRule and return new deep copies; they never mutate their input, do
no I/O and read no clock. Problems come out as RoutingError, naming the field path and the fix.
"""

from controller.routing.errors import RoutingError
from controller.routing.finding import find_managed_route
from controller.routing.model import ManagedRoute, same_host
from controller.routing.patch import route_patch
from controller.routing.subsets import check_subsets, subset_labels
from controller.routing.weights import (
    check_weight,
    promote,
    read_canary_weight,
    rollback,
    route_weights,
    set_canary_weight,
)

__all__ = [
    "ManagedRoute",
    "RoutingError",
    "check_subsets",
    "check_weight",
    "find_managed_route",
    "promote",
    "read_canary_weight",
    "rollback",
    "route_patch",
    "route_weights",
    "same_host",
    "set_canary_weight",
    "subset_labels",
]
