"""The one place that imports ``kubernetes``: typed reads, guarded writes, status, events, watch.

Everything above this package sees plain dicts and our own error types (``controller.kube.errors``),
never ``ApiException`` or urllib3 exceptions.
"""
