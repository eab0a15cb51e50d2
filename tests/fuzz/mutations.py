"""Seeded mutations of the shipped samples and gate profiles, for fuzzing the manifest readers.

`mutate(text, rng)` returns bytes: either the YAML tree changed (a key dropped, renamed or
duplicated, a value replaced by one from `ODD_VALUES`, wrapped, repeated) and dumped again, or
the text itself cut, spliced or sprinkled with YAML syntax and bytes that are not UTF-8. One
`random.Random` drives everything, so a seed names a run exactly and a failing input can be
regenerated from its seed and index. Used by the fuzz test in `make test` and by
`bench/fuzz_manifests.py` for long runs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SAMPLES = sorted((REPO / "config" / "samples").glob("*.yaml"))
PROFILES = sorted((REPO / "config" / "gates").glob("*.yaml"))

ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    101,
    2**63,
    -(2**63),
    10**40,
    1.5,
    float("nan"),
    float("inf"),
    float("-inf"),
    -0.0,
    1e308,
    "",
    " ",
    "x" * 5000,
    "99999999999h",
    "1e9s",
    "-5s",
    "0s",
    "5",
    "30 secs",
    "1h30m",
    "v3\n",
    "Äö-ß",
    "\x00",
    "on",
    "yes",
    "~",
    "{{ version }}",
    "{{ nope }}",
    "{{",
    "sum(rate(istio_requests_total[{{ window }}]))",
    "2024-05-01",
    [],
    {},
    [1, 2, 3],
    [50, 30],
    [True, 100],
    ["50", "100"],
    {"a": 1},
    {"name": "error-rate", "max": 1},
]

TOKENS: list[bytes] = [
    b"&a ",
    b"*a",
    b"!!timestamp ",
    b"!!python/object:os.system ",
    b"!!binary ",
    b"!!int ",
    b"!!float ",
    b"!!str ",
    b"!!set ",
    b"? ",
    b"- ",
    b": ",
    b"---\n",
    b"...\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\t",
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\r",
    b"'",
    b'"',
    b"#",
    b"|",
    b">",
    b"%YAML 1.1\n",
    b"<<: *a\n",
    b"on: [rollback]\n",
    b"\xef\xbb\xbf",
]


def seeds() -> list[tuple[str, str]]:
    """(kind, text) of every shipped sample and profile."""
    return [("shift", p.read_text()) for p in SAMPLES] + [
        ("profile", p.read_text()) for p in PROFILES
    ]


def _places(tree: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, Any]]:
    """(container, key) of every value in the tree, containers included."""
    if isinstance(tree, dict):
        for key in list(tree):
            yield tree, key
            yield from _places(tree[key], (*path, key))
    elif isinstance(tree, list):
        for index in range(len(tree)):
            yield tree, index
            yield from _places(tree[index], (*path, index))


def _odd(rng: random.Random) -> Any:
    value = rng.choice(ODD_VALUES)
    return yaml.safe_load(yaml.safe_dump(value)) if isinstance(value, (list, dict)) else value


def _change_tree(tree: Any, rng: random.Random) -> None:
    places = list(_places(tree))
    if not places:
        return
    container, key = rng.choice(places)
    operation = rng.randrange(7)
    if operation == 0 and isinstance(container, dict):
        del container[key]
    elif operation == 1 and isinstance(container, dict):
        renamed = rng.choice(
            [str(key).upper(), str(key) + "s", str(key)[:-1], "on", "unknownField", str(key) + " "]
        )
        container[renamed] = container.pop(key)
    elif operation == 2:
        container[key] = [container[key]] * rng.choice((1, 2, 150))
    elif operation == 3:
        container[key] = {"value": container[key]}
    elif operation == 4 and isinstance(container, list):
        container.insert(key, container[key])
    else:
        container[key] = _odd(rng)


def _dump(tree: Any, rng: random.Random) -> bytes:
    try:
        if rng.random() < 0.2:
            return yaml.safe_dump(tree, default_flow_style=True, allow_unicode=True).encode()
        return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True).encode()
    except (ValueError, yaml.YAMLError):
        return repr(tree).encode()


def _change_text(data: bytes, rng: random.Random) -> bytes:
    operation = rng.randrange(6)
    at = rng.randrange(len(data) + 1)
    if operation == 0:
        return data[:at] + rng.choice(TOKENS) + data[at:]
    if operation == 1:
        return data[: rng.randrange(len(data) + 1)]
    if operation == 2:
        end = min(len(data), at + rng.randrange(1, 40))
        return data[:at] + data[end:]
    lines = data.split(b"\n")
    index = rng.randrange(len(lines))
    if operation == 3:
        lines.insert(index, lines[index])
    elif operation == 4:
        lines[index] = b"  " + lines[index] if rng.random() < 0.5 else lines[index].lstrip()
    else:
        other = rng.randrange(len(lines))
        lines[index], lines[other] = lines[other], lines[index]
    return b"\n".join(lines)


def alias_bomb(levels: int) -> bytes:
    """A small document whose aliases expand to 9**levels values."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels + 1):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 9)}]")
    return ("\n".join(lines) + "\n").encode()


def mutate(text: str, rng: random.Random) -> bytes:
    """One fuzz input made from `text` (a sample or a profile)."""
    if rng.random() < 0.01:
        return alias_bomb(rng.randrange(3, 9))
    if rng.random() < 0.6:
        tree = yaml.safe_load(text)
        for _ in range(rng.randrange(1, 4)):
            _change_tree(tree, rng)
        data = _dump(tree, rng)
    else:
        data = text.encode()
    for _ in range(rng.randrange(0, 3)):
        data = _change_text(data, rng)
    return data


def inputs(seed: int, count: int) -> Iterator[tuple[int, str, bytes]]:
    """`count` fuzz inputs for `seed`: (index, kind, data), kind "shift" or "profile"."""
    rng = random.Random(seed)
    base = seeds()
    for index in range(count):
        kind, text = rng.choice(base)
        yield index, kind, mutate(text, rng)
