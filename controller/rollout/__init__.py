"""weightgate.rollout layer (see the package docstring for what it owns)."""
