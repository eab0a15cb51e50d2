"""weightgate.alerts layer (see the package docstring for what it owns)."""
