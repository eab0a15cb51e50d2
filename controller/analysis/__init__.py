"""weightgate.analysis layer (see the package docstring for what it owns)."""
