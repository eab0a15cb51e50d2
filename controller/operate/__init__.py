"""weightgate.operate: steering a running shift from a terminal.

`weightgate status`, `history`, `promote`, `abort`, `pause`, `resume` and `retry` read the
TrafficShift and write intent on it (annotations the controller owns, or ``spec.paused``); the
controller, daemon or `weightgate run`, carries the intent out on its next tick and records it
in ``status.lastIntent``, history and an Event. ``commands.py`` checks and writes requests,
``views.py`` and ``detail.py`` render what a shift looks like, ``kubeapi.py`` is the cluster.
"""
