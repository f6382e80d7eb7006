"""Reading checklist files and reporting every problem as ``file:line: message``.

Operators edit these files by hand, so a problem must point at the line to fix and say
in a plain sentence what is wrong; the YAML node tree gives the lines, pydantic the rules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from checklists.schema import Checklist, CrossItemProblems, Loc, Section, cross_item_problems

SHIPPED_DIR = Path(__file__).resolve().parent
_SECTIONS = TypeAdapter(list[Section])


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
    """Expand folders into their ``*.yaml``/``*.yml`` files, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            files.append(path)
    return files


def load_file(path: Path) -> tuple[LoadedChecklist | None, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(path, 1, f"cannot read the file: {exc}")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, [Problem(path, line, f"not valid YAML: {exc.problem or exc}")]
    if node is None or not isinstance(data, dict):
        return None, [Problem(path, 1, "the file must hold one checklist, a mapping of fields")]
    problems = [Problem(path, line, message) for line, message in _duplicate_keys(node)]
    try:
        checklist = Checklist.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, node, path))
        sections_checked = any(
            error["loc"][:1] == ("sections",)
            or isinstance(error.get("ctx", {}).get("error"), CrossItemProblems)
            for error in exc.errors()
        )
        if not sections_checked:
            problems.extend(_section_problems(data.get("sections"), node, path))
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
        raise ChecklistError([Problem(Path("."), 0, "no checklist files (*.yaml) found")])
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


def line_of_key(path: Path, key: str) -> int:
    """The line of a top-level key, to point an operator at it; 1 when not found."""
    node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    found = _child(node, key) if node is not None else None
    return found[0].start_mark.line + 1 if found is not None else 1


def _section_problems(sections: object, root: yaml.Node, path: Path) -> list[Problem]:
    """Cross-item rules when only fields outside ``sections`` failed, so none goes unseen."""
    try:
        valid = _SECTIONS.validate_python(sections)
    except ValidationError:
        return []
    return [
        _problem(root, path, ("sections", *loc[1:]), msg) for loc, msg in cross_item_problems(valid)
    ]


def _problem(root: yaml.Node, path: Path, loc: Loc, message: str) -> Problem:
    line, where = _locate(root, loc)
    return Problem(path, line, f"{where}: {message}" if where else message)


def content_hash(checklist: Checklist) -> str:
    """A hash of the meaning of a checklist, blind to comments and formatting."""
    canonical = json.dumps(checklist.model_dump(mode="json", by_alias=True), sort_keys=True)
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


def _problems_from(exc: ValidationError, root: yaml.Node, path: Path) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors():
        cross = error.get("ctx", {}).get("error")
        if isinstance(cross, CrossItemProblems):
            base = tuple(error["loc"])
            problems.extend(_problem(root, path, (*base, *loc), msg) for loc, msg in cross.problems)
        else:
            problems.append(_problem(root, path, tuple(error["loc"]), _sentence(error)))
    return problems


def _locate(root: yaml.Node, loc: Loc) -> tuple[int, str]:
    """The line of the deepest place on ``loc`` (a key's own line) and a readable name for it."""
    node, line = root, root.start_mark.line + 1
    names: list[str] = []
    for part in loc:
        found = _child(node, part)
        if found is None:
            break
        line, node = found[0].start_mark.line + 1, found[1]
        if isinstance(part, int):
            ident = _child(node, "id")
            label = (
                f" '{ident[1].value}'" if ident and isinstance(ident[1], yaml.ScalarNode) else ""
            )
            names[-1:] = [f"{names[-1] if names else ''}[{part}]{label}"]
        else:
            names.append(str(part))
    return line, ".".join(names)


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    """The (node whose line to show, value node) for a mapping key or a list index."""
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        key = "in" if part == "in_" else part
        return next(((k, v) for k, v in node.value if k.value == key), None)
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
        return f"'{error['input']}' is not one of {ctx.get('expected', 'the allowed values')}"
    if kind == "string_pattern_mismatch":
        return (
            f"'{error['input']}' is not a valid id: use lower-case latin letters, digits "
            "and '_', starting with a letter, at most 40 characters"
        )
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return f"{error['msg'].rstrip('.')} (got {error['input']!r})"
