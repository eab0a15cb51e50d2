"""RoutingError: the one exception the routing package raises for input it cannot manage.

Each error carries what is wrong, where (the object and the field path inside it) and what the
user can do about it, so the controller can put it on the TrafficShift's status as it is.
"""

from __future__ import annotations


class RoutingError(ValueError):
    """A VirtualService, DestinationRule or request that the weight engine cannot act on."""

    def __init__(self, problem: str, *, path: str, fix: str, obj: str = "VirtualService") -> None:
        self.problem = problem
        self.path = path
        self.fix = fix
        self.obj = obj
        super().__init__(f"{obj} {path}: {problem}. Fix: {fix}")

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments break the default pickling of exceptions (multiprocessing,
        # copy); rebuild through a helper that takes them positionally.
        return (_rebuild, (self.problem, self.path, self.fix, self.obj))


def _rebuild(problem: str, path: str, fix: str, obj: str) -> RoutingError:
    return RoutingError(problem, path=path, fix=fix, obj=obj)
