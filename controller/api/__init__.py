"""weightgate.api layer (see the package docstring for what it owns)."""
