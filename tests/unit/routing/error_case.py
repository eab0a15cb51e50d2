"""What every RoutingError test checks: the message names the object, field path and fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from controller.routing import RoutingError


@dataclass(frozen=True)
class Case:
    call: Callable[[], object]
    path: str  # the field path the message must name
    fix: str  # a fragment of the fix the message must give
    problem: str  # a fragment of what is wrong


def assert_names_path_and_fix(case: Case) -> None:
    with pytest.raises(RoutingError) as raised:
        case.call()
    error = raised.value
    message = str(error)
    assert error.path == case.path
    assert f"{error.obj} {case.path}: " in message
    assert case.problem in message
    assert f"Fix: {error.fix}" in message
    assert case.fix in error.fix
