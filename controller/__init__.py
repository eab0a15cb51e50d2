"""weightgate: a progressive-delivery controller for Istio.

The package is laid out in one-way layers (see docs/architecture in README): ``api`` holds the
TrafficShift models, ``routing`` the pure VirtualService weight arithmetic, ``analysis`` the
Prometheus gates, ``rollout`` the pure state machine, ``kube`` the Kubernetes I/O, and ``cli``
wires them together.
"""

__version__ = "0.1.0"
