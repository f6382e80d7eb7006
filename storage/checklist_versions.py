"""Recording each checklist version the bot serves, so visits keep the exact one they used."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from checklists.loader import ChecklistError, LoadedChecklist, Problem, line_of_key
from checklists.schema import Checklist
from storage.models import ChecklistVersion


def register(session: Session, loaded: list[LoadedChecklist]) -> dict[str, ChecklistVersion]:
    """Store new versions; refuse a file whose content changed without a version bump.

    Returns the current version of each checklist id, keyed by id.
    """
    current: dict[str, ChecklistVersion] = {}
    problems: list[Problem] = []
    for item in loaded:
        checklist = item.checklist
        stored = session.scalars(
            select(ChecklistVersion).where(ChecklistVersion.checklist_id == checklist.id)
        ).all()
        same = next((v for v in stored if v.version == checklist.version), None)
        if same is not None and same.content_hash != item.content_hash and _says(same, checklist):
            # Hashed differently by an earlier release (its schema had fewer fields): the
            # same checklist, so the same version.
            same.content_hash = item.content_hash
        if same is not None and same.content_hash != item.content_hash:
            highest = max(v.version for v in stored)
            problems.append(
                Problem(
                    item.path,
                    line_of_key(item.path, "version"),
                    f"checklist '{checklist.id}' changed but its version is still "
                    f"{checklist.version}, which visits already use: set 'version: {highest + 1}'",
                )
            )
            continue
        if same is None:
            same = ChecklistVersion(
                checklist_id=checklist.id,
                version=checklist.version,
                content_hash=item.content_hash,
                channel=checklist.channel.value,
                definition=checklist.model_dump(mode="json", by_alias=True, exclude_none=True),
            )
            session.add(same)
        # The file's checklist is the stored one (same hash): validated already, so the
        # first visits after a start need not validate it again (on the event loop).
        _validated.setdefault((same.checklist_id, same.version, same.content_hash), checklist)
        current[checklist.id] = same
    if problems:
        raise ChecklistError(problems)
    session.flush()
    return current


def _says(version: ChecklistVersion, checklist: Checklist) -> bool:
    """Whether a stored version holds exactly ``checklist``."""
    try:
        return Checklist.model_validate(version.definition) == checklist
    except ValueError:
        return False


def definition(version: ChecklistVersion) -> Checklist:
    """The version's checklist, validated once per process: every update of a visit needs it.

    A version never changes (``register`` refuses new content under an old version number),
    so its id, version and content hash name one checklist; the model is frozen, so sharing
    it is safe.
    """
    key = (version.checklist_id, version.version, version.content_hash)
    checklist = _validated.get(key)
    if checklist is None:
        checklist = _validated[key] = Checklist.model_validate(version.definition)
    return checklist


def cached_definition(key: tuple[str, int, str]) -> Checklist | None:
    """The checklist of (checklist id, version, content hash) if ``definition`` validated
    it in this process already, else None."""
    return _validated.get(key)


_validated: dict[tuple[str, int, str], Checklist] = {}
