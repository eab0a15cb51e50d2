"""The optional state file: every object and the resourceVersion counter, as one JSON document.

Written after every change through a temporary file in the same directory and ``os.replace``,
so a crash mid-write leaves the previous state intact and a restarted server never reads half
a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (readers see the old or the new file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class StateFile:
    """Loads and saves store snapshots at one path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Any] | None:
        """The saved snapshot, or None when there is no file yet."""
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ValueError(
                f"state file {self.path} is not valid JSON ({error}): fix or delete it"
            ) from error
        if not isinstance(data, dict) or "objects" not in data:
            raise ValueError(
                f"state file {self.path} is not a sandbox API server state: "
                "delete it to start empty"
            )
        return data

    def save(self, snapshot: dict[str, Any]) -> None:
        write_atomically(self.path, json.dumps(snapshot, separators=(",", ":")))
