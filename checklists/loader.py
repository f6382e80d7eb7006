"""Reading checklist files and reporting every problem as ``file:line: message``.

Operators edit these files by hand, so a problem must point at the line to fix and say
in a plain sentence what is wrong; the YAML node tree gives the lines, pydantic the rules.
A file may also be hostile (a "billion laughs" alias bomb, nesting thousands deep, a huge
file): limits on it are checked while it is read, so it is refused like any other mistake
instead of hanging the command or ending it in a traceback.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from checklists import spreadsheet
from checklists.schema import Checklist, CrossItemProblems, Loc, Section, cross_item_problems

SHIPPED_DIR = Path(__file__).resolve().parent
_SECTIONS = TypeAdapter(list[Section])

MAX_FILE_BYTES = 256 * 1024
"""The shipped checklists are about 12 KB; past this a file is a mistake or an attack.
Pure-Python YAML reads about 0.7 MB a second, so even a file this big is refused in time."""
MAX_DEPTH = 50
"""Levels of nested lists and mappings; a checklist needs 8 (sections, items, bands)."""
MAX_NODES = 10_000
"""Values in a file with every alias written out; a checklist has about 500.  Aliases are
cheap to read but every later check walks each repetition, so this bounds an alias bomb;
and composing reads about 25,000 values a second, so this many are refused in time."""


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class ChecklistError(Exception):
    """Raised when checklists cannot be used; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class LoadedChecklist:
    checklist: Checklist
    path: Path
    content_hash: str


def checklist_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into their ``*.yaml``/``*.yml``/``*.xlsx`` files, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [*path.glob("*.yaml"), *path.glob("*.yml"), *path.glob("*.xlsx")]
            files.extend(sorted(p for p in found if not p.name.startswith("~$")))
        else:
            files.append(path)
    return files


def load_file(path: Path) -> tuple[LoadedChecklist | None, list[Problem]]:
    """A checklist file, YAML or a workbook (``checklists.spreadsheet``)."""
    if path.suffix.lower() == ".xlsx":
        return _load_workbook(path)
    return _load_yaml(path)


def _load_workbook(path: Path) -> tuple[LoadedChecklist | None, list[Problem]]:
    problems: list[Problem] = []

    def parse_value(text: str, row: int) -> object:
        try:
            return _yaml_value(text)
        except (_Refused, _RepeatedKey, yaml.YAMLError) as exc:
            reason = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else str(exc)
            message = f"{_quoted(text)} is not a value as in YAML: {reason}"
            problems.append(Problem(path, row, message))
            return None

    try:
        data, places, found = spreadsheet.read(path, parse_value)
    except spreadsheet.SpreadsheetProblems as exc:
        return None, [Problem(path, row, message) for row, message in exc.problems]
    except OSError as exc:
        return None, [Problem(path, 1, f"cannot read the file: {exc}")]
    problems += [Problem(path, row, message) for row, message in found]
    return _validated(data, places, path, problems)


class _RepeatedKey(ValueError):
    """A key written twice in one cell: which of the two was meant cannot be known."""


def _yaml_value(text: str) -> object:
    """One value written as in YAML (a cell's ``{item: greeted, equals: yes}``)."""
    loader = _LimitedLoader(text)
    try:
        node = loader.get_single_node()
        for _, message in _duplicate_keys(node) if node is not None else ():
            raise _RepeatedKey(message)
        return loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def _load_yaml(path: Path) -> tuple[LoadedChecklist | None, list[Problem]]:
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            limit = f"{MAX_FILE_BYTES // 1024} KiB ({MAX_FILE_BYTES:,} bytes)"
            message = f"the file is larger than {limit}, the limit for a checklist file"
            return None, [Problem(path, 1, message)]
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(path, 1, f"cannot read the file: {exc}")]
    try:
        loader = _LimitedLoader(text)
        try:
            node = loader.get_single_node()
            # Before constructing: merge keys (``<<: *base``) rewrite the mapping nodes.
            duplicates = list(_duplicate_keys(node)) if node is not None else []
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except _Refused as exc:
        return None, [Problem(path, exc.line, str(exc))]
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        message = f"not valid YAML: unacceptable character #x{exc.character:04x}: {exc.reason}"
        return None, [Problem(path, line, message)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, [Problem(path, line, f"not valid YAML: {exc.problem or exc}")]
    if node is None or not isinstance(data, dict):
        return None, [Problem(path, 1, "the file must hold one checklist, a mapping of fields")]
    problems = [Problem(path, line, message) for line, message in duplicates]
    return _validated(data, _Places(node), path, problems)


class Locating(Protocol):
    def locate(self, loc: Loc) -> tuple[int, str]: ...


def _validated(
    data: dict[str, Any], places: Locating, path: Path, problems: list[Problem]
) -> tuple[LoadedChecklist | None, list[Problem]]:
    """The checklist in ``data``, or every problem with it, each at its place in the file."""
    try:
        checklist = Checklist.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, places, path))
        sections_checked = any(
            error["loc"][:1] == ("sections",)
            or isinstance(error.get("ctx", {}).get("error"), CrossItemProblems)
            for error in exc.errors()
        )
        if not sections_checked:
            problems.extend(_section_problems(data.get("sections"), places, path))
        return None, sorted(problems, key=lambda p: p.line)
    if problems:
        return None, problems
    return LoadedChecklist(checklist, path, content_hash(checklist)), []


def load_all(paths: Iterable[Path]) -> list[LoadedChecklist]:
    """Load every checklist or raise with all problems of all files."""
    loaded: list[LoadedChecklist] = []
    problems: list[Problem] = []
    files = checklist_files(paths)
    if not files:
        raise ChecklistError([Problem(Path("."), 0, "no checklist files (*.yaml, *.xlsx) found")])
    for path in files:
        checklist, found = load_file(path)
        problems.extend(found)
        if checklist is not None:
            loaded.append(checklist)
    seen: dict[str, Path] = {}
    for item in loaded:
        first = seen.setdefault(item.checklist.id, item.path)
        if first != item.path:
            problems.append(
                Problem(item.path, 1, f"checklist id '{item.checklist.id}' is also used by {first}")
            )
    if problems:
        raise ChecklistError(problems)
    return loaded


class _Refused(Exception):
    """A limit broken while composing, with the line where it happened."""

    def __init__(self, event: yaml.NodeEvent, message: str) -> None:
        super().__init__(message)
        self.line = event.start_mark.line + 1 if event.start_mark else 1


_WHAT: dict[type[yaml.Event], str] = {
    yaml.MappingStartEvent: "this mapping",
    yaml.SequenceStartEvent: "this list",
}


@dataclass(frozen=True)
class _Extent:
    """How much an anchored node adds wherever an alias repeats it."""

    nodes: int
    depth: int


class _LimitedLoader(yaml.SafeLoader):
    """The safe loader, refusing a file past the limits while composing it.

    Composing is the one step that sees an alias as one reference rather than a copy, and
    it nests one call per level, so the limits are checked here, before each level is
    entered and before anything walks the repetitions: depth and node counts are kept with
    every alias counted as the whole node it repeats.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0  # lists and mappings open around the node being composed
        self._deepest = 0  # the deepest level reached inside the node being composed
        self._nodes = 0  # nodes so far, each alias counted as the nodes it repeats
        self._extents: dict[str | None, _Extent] = {}  # by anchor, once its node is done

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: yaml.NodeEvent = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            alias = f"the alias '*{event.anchor}'"
            extent = self._extents.get(event.anchor)
            if extent is None:
                message = f"{alias} is inside the node it repeats, so it would never end"
                raise _Refused(event, message)
            self._grow(extent.nodes, self._depth + extent.depth, event, alias)
            return node
        nodes, depth, deepest = self._nodes, self._depth, self._deepest
        self._deepest = depth
        if isinstance(event, yaml.CollectionStartEvent):
            self._depth += 1
        what = _WHAT.get(type(event), "this value")
        self._grow(1, self._depth, event, what)
        node = super().compose_node(parent, index)
        if event.anchor is not None:
            self._extents[event.anchor] = _Extent(self._nodes - nodes, self._deepest - depth)
        self._depth, self._deepest = depth, max(deepest, self._deepest)
        return node

    def _grow(self, nodes: int, depth: int, event: yaml.NodeEvent, what: str) -> None:
        """Count ``nodes`` more, reaching ``depth`` levels; refuse at ``event`` past a limit."""
        self._nodes += nodes
        self._deepest = max(self._deepest, depth)
        if depth > MAX_DEPTH:
            limit = f"{MAX_DEPTH} levels, the limit for a checklist file"
            raise _Refused(event, f"{what} nests deeper than {limit}")
        if self._nodes > MAX_NODES:
            limit = f"{MAX_NODES:,} values, the limit for a checklist file"
            raise _Refused(event, f"{what} makes the file hold more than {limit}")

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """PyYAML fails on some scalars it cannot turn into their type (``!!int eighty``,
        ``2024-13-01``) with a bare Python error; make it a YAML error at the value's line."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, LookupError, AttributeError):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r} as {tag}", node.start_mark
            ) from None


def line_of_key(path: Path, key: str) -> int:
    """The line of a top-level key, to point an operator at it; 1 when not found."""
    node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    found = _Places(node).child(node, key) if node is not None else None
    return found[0].start_mark.line + 1 if found is not None else 1


def _section_problems(sections: object, places: Locating, path: Path) -> list[Problem]:
    """Cross-item rules when only fields outside ``sections`` failed, so none goes unseen."""
    try:
        valid = _SECTIONS.validate_python(sections)
    except ValidationError:
        return []
    return [
        _problem(places, path, ("sections", *loc[1:]), msg)
        for loc, msg in cross_item_problems(valid)
    ]


def _problem(places: Locating, path: Path, loc: Loc, message: str) -> Problem:
    line, where = places.locate(loc)
    return Problem(path, line, f"{where}: {message}" if where else message)


def content_hash(checklist: Checklist) -> str:
    """A hash of the meaning of a checklist, blind to comments and formatting, and to fields
    left at their defaults (so that a field the schema gains later changes no hash)."""
    data = checklist.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    canonical = json.dumps(data, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _duplicate_keys(node: yaml.Node) -> Iterable[tuple[int, str]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                yield key.start_mark.line + 1, f"key '{key.value}' appears twice"
            seen.add(key.value)
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            yield from _duplicate_keys(child)


_KINDS = {"str": "text", "int": "a number", "float": "a number", "bool": "yes or no"}
"""What pydantic names each member of a union in an error's place, in words."""


def _problems_from(exc: ValidationError, places: Locating, path: Path) -> list[Problem]:
    problems: list[Problem] = []
    unions: dict[Loc, tuple[list[str], ErrorDetails]] = {}
    for error in exc.errors():
        cross = error.get("ctx", {}).get("error")
        loc = tuple(error["loc"])
        if isinstance(cross, CrossItemProblems):
            problems.extend(
                _problem(places, path, (*loc, *inner), msg) for inner, msg in cross.problems
            )
        elif loc and loc[-1] in _KINDS and error["type"].endswith(("_type", "_parsing")):
            # one value tried against each member of a union (``str | int | float``)
            unions.setdefault(loc[:-1], ([], error))[0].append(_KINDS[str(loc[-1])])
        else:
            problems.append(_problem(places, path, loc, _sentence(error)))
    for loc, (kinds, error) in unions.items():
        wanted = " or ".join(dict.fromkeys(kinds))
        message = f"should be {wanted} (got {_quoted(error['input'])})"
        problems.append(_problem(places, path, loc, message))
    return problems


def _quoted(value: object, limit: int = 60) -> str:
    """A value as a problem quotes it: cut to ``limit`` characters, so that a huge cell or
    a deeply nested one does not become a huge message."""
    shown = repr(value) if not isinstance(value, str) else f"'{value}'"
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


class _Places:
    """Where the parts of a composed file are written, to point a problem at its line.

    The keys of a mapping are indexed the first time it is searched, so that a problem at
    each of many keys does not search the whole mapping once per problem.
    """

    def __init__(self, root: yaml.Node) -> None:
        self.root = root
        self._keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def locate(self, loc: Loc) -> tuple[int, str]:
        """The line of the deepest place on ``loc`` (a key's own line) and a readable name."""
        node, line = self.root, self.root.start_mark.line + 1
        names: list[str] = []
        for part in loc:
            found = self.child(node, part)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
            if isinstance(part, int):
                ident = self.child(node, "id")
                label = (
                    f" '{ident[1].value}'"
                    if ident and isinstance(ident[1], yaml.ScalarNode)
                    else ""
                )
                names[-1:] = [f"{names[-1] if names else ''}[{part}]{label}"]
            else:
                names.append(str(part))
        return line, ".".join(names)

    def child(self, node: yaml.Node, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
        """The (node whose line to show, value node) for a mapping key or a list index.

        Of a repeated key, the last: its value is the one read, as with a key merged in
        (``<<: *base``), which constructing puts in front of the mapping's own keys.
        """
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            if id(node) not in self._keys:
                self._keys[id(node)] = {
                    k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)
                }
            return self._keys[id(node)].get("in" if part == "in_" else part)
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child: yaml.Node = node.value[part]
            return child, child
        return None


def _sentence(error: ErrorDetails) -> str:
    kind = error["type"]
    field = error["loc"][-1] if error["loc"] else ""
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == "missing":
        return f"the required field '{field}' is missing"
    if kind == "extra_forbidden":
        return f"'{field}' is not a known field here"
    if kind in ("enum", "literal_error"):
        expected = ctx.get("expected", "the allowed values")
        return f"{_quoted(error['input'])} is not one of {expected}"
    if kind == "string_pattern_mismatch":
        return (
            f"{_quoted(error['input'])} is not a valid id: use lower-case latin letters, "
            "digits and '_', starting with a letter, at most 40 characters"
        )
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg'].rstrip('.')} (got {_quoted(error['input'])})"
