"""Reading weightgate manifests from disk: YAML files (multi-document) and gate-profile folders.

The only place that turns files into ``SourcedDocument``s; validation itself is pure and lives
in ``controller.api.documents``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from controller.api.documents import SourcedDocument, check_documents
from controller.api.problems import Problem, shown
from controller.api.profile import GateProfile

DEFAULT_PROFILE_DIR = Path("config/gates")
_PACKAGE = Path(__file__).resolve().parent
# Where the shipped profiles are when no folder is configured: inside an installed wheel
# (hatch force-include), or in the source checkout next to the package.
SHIPPED_PROFILE_DIRS = (_PACKAGE / "profiles", _PACKAGE.parent / "config" / "gates")


def profile_dir(configured: Path | None = None) -> Path:
    """The gate-profile folder to load: the configured one when it exists, else the shipped
    profiles (so `weightgate run` works from any directory)."""
    if configured is not None and configured.is_dir():
        return configured
    if configured is not None and configured != DEFAULT_PROFILE_DIR:
        return configured  # an explicit folder that is missing: let loading say so
    return next((d for d in SHIPPED_PROFILE_DIRS if d.is_dir()), DEFAULT_PROFILE_DIR)


class ManifestError(Exception):
    """A file could not be read or parsed; ``problems`` say where."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


MAX_VALUES = 100_000  # values in a file once YAML aliases are expanded: far above any manifest


class _Loader(yaml.SafeLoader):
    """The safe loader, with a clear error for a timestamp tag on a value that is not one
    (PyYAML's own constructor fails there with an AttributeError)."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> object:  # type: ignore[override]
        value = self.construct_scalar(node)
        if not isinstance(value, str) or not self.timestamp_regexp.match(value):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"{shown(value)} is tagged !!timestamp but is not a date",
                node.start_mark,
            )
        return super().construct_yaml_timestamp(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        """A mapping, refusing what a YAML 1.1 reader would silently turn into something
        else: a key given twice (the last would win) and an unquoted ``on``/``yes``/``no``
        key (read as a boolean, as kubectl reads it too)."""
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.tag == "tag:yaml.org,2002:bool" and not key_node.style:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"the key {key_node.value!r} is read as a boolean (YAML 1.1 reads an "
                        f"unquoted on, off, yes or no as true or false, and so does kubectl): "
                        f'quote it, "{key_node.value}":',
                        key_node.start_mark,
                    )
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"the key {shown(key_node.value)} is given twice (first at line "
                        f"{seen[key] + 1}): keep one",
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def expanded_size(value: object, limit: int) -> int:
    """How many values `value` holds with every alias expanded (shared lists and mappings
    counted each time they are reached), stopping once past `limit`. Counted per distinct
    object, so a file that expands to billions costs as much to count as it is long."""
    sizes: dict[int, int] = {}

    def size(node: object) -> int:
        if isinstance(node, dict):
            children: list[object] = [*node.keys(), *node.values()]
        elif isinstance(node, list):
            children = node
        else:
            return 1
        found = sizes.get(id(node))
        if found is None:
            found = min(limit + 1, 1 + sum(size(child) for child in children))
            sizes[id(node)] = found
        return found

    return size(value)


def _problem(source: str, message: str) -> ManifestError:
    return ManifestError([Problem(source, 0, "", message)])


def read_documents(path: Path) -> list[SourcedDocument]:
    """Every non-empty YAML document of a file, numbered from 1. Any file, however malformed,
    gives documents or a ManifestError, never another exception."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _problem(source, f"cannot read file: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _problem(
            source,
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line} (offset {exc.start}) "
            "cannot be decoded; save the file as UTF-8",
        ) from exc
    try:
        loaded = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise _problem(source, f"not valid YAML{where}: {problem}") from exc
    except (ValueError, TypeError, RecursionError) as exc:  # a tag PyYAML cannot build
        raise _problem(source, f"not valid YAML: {type(exc).__name__}: {shown(str(exc))}") from exc
    if expanded_size(loaded, MAX_VALUES) > MAX_VALUES:
        raise _problem(
            source,
            f"YAML aliases expand this file to more than {MAX_VALUES:,} values: write the "
            "manifest out, or use fewer nested aliases",
        )
    documents = [
        SourcedDocument(source, index, content)
        for index, content in enumerate(loaded, start=1)
        if content is not None
    ]
    if not documents:
        raise _problem(source, "no document: the file is empty (or holds only comments)")
    return documents


def load_profiles(directory: Path) -> dict[str, GateProfile]:
    """All gate profiles in ``directory`` (``*.yaml``), by name; any problem is fatal."""
    if not directory.is_dir():
        raise ManifestError(
            [
                Problem(
                    str(directory),
                    0,
                    "",
                    "gate profile folder not found: pass --profiles DIR or set gate_profiles_dir",
                )
            ]
        )
    documents: list[SourcedDocument] = []
    for path in sorted(directory.glob("*.yaml")):
        documents.extend(read_documents(path))
    result = check_documents(documents, {})
    problems = list(result.problems)
    if result.shifts:
        doc = result.shifts[0][0]
        problems.append(
            Problem(
                doc.source, doc.document, "kind", "a gate-profile folder holds GateProfiles only"
            )
        )
    if problems:
        raise ManifestError(problems)
    return result.profiles
