"""Checklist versions are kept as answered; submitting a visit fixes its scores exactly once."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from checklists.loader import SHIPPED_DIR, ChecklistError, load_all
from checklists.scoring import Answer as ScoringAnswer
from checklists.scoring import score_visit
from storage import checklist_versions, updates, visits
from storage.db import Database
from storage.models import Answer, ChecklistVersion, Person, Role, Store, Visit, VisitStatus
from storage.people import add_person
from storage.prepared import Prepared


def _register(database: Database, folder: Path) -> dict[str, ChecklistVersion]:
    with database.write() as session:
        return checklist_versions.register(session, load_all([folder]))


def test_registering_the_same_files_twice_adds_no_version(database: Database) -> None:
    _register(database, SHIPPED_DIR)
    _register(database, SHIPPED_DIR)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(ChecklistVersion)) == 3


def test_a_changed_checklist_without_a_new_version_is_refused(
    database: Database, tmp_path: Path
) -> None:
    shutil.copy(SHIPPED_DIR / "store_visit.yaml", tmp_path / "store_visit.yaml")
    _register(database, tmp_path)
    path = tmp_path / "store_visit.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("pass_mark: 80", "pass_mark: 75"))
    with pytest.raises(ChecklistError) as refused:
        _register(database, tmp_path)
    problem = refused.value.problems[0]
    shipped = load_all([SHIPPED_DIR / "store_visit.yaml"])[0].checklist.version
    assert problem.line == 5 and f"set 'version: {shipped + 1}'" in problem.message
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(f"version: {shipped}", f"version: {shipped + 1}"))
    current = _register(database, tmp_path)
    assert current["store_visit"].version == shipped + 1
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(ChecklistVersion)) == 2


def test_formatting_and_comments_do_not_count_as_a_change(
    database: Database, tmp_path: Path
) -> None:
    shutil.copy(SHIPPED_DIR / "store_visit.yaml", tmp_path / "store_visit.yaml")
    _register(database, tmp_path)
    path = tmp_path / "store_visit.yaml"
    path.write_text("# a new comment\n\n" + path.read_text(encoding="utf-8"))
    shipped = load_all([SHIPPED_DIR / "store_visit.yaml"])[0].checklist.version
    assert _register(database, tmp_path)["store_visit"].version == shipped


NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)

ANSWERS = {
    "greet_time": ScoringAnswer(45),
    "greeted": ScoringAnswer("yes"),
    "smiled": ScoringAnswer("no"),
    "named_self": ScoringAnswer("yes"),
    "three_yes": ScoringAnswer(na=True),
    "service_rating": ScoringAnswer(4),
    "tidiness": ScoringAnswer("minor_issues"),
    "nps": ScoringAnswer(9),
    "comment": ScoringAnswer('=HYPERLINK("x")'),
}


def _draft(database: Database) -> int:
    version = _register(database, SHIPPED_DIR)["store_visit"]
    with database.write() as session:
        store = Store(code="S1", name="One")
        evaluator: Person = add_person(session, Role.EVALUATOR, "Eva")
        session.add(store)
        session.flush()
        visit = Visit(store_id=store.id, evaluator_id=evaluator.id, checklist_version_id=version.id)
        session.add(visit)
        session.flush()
        checklist = checklist_versions.definition(version)
        for item_id, value in ANSWERS.items():
            row = Answer(visit_id=visit.id, item_id=item_id)
            visits.set_answer_value(row, checklist, value)
            session.add(row)
        return visit.id


def test_answers_read_back_as_they_were_given(database: Database) -> None:
    visit_id = _draft(database)
    with database.read() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        assert visits.answers_of(visit) == ANSWERS


def test_submitting_fixes_the_visit_and_item_scores(database: Database) -> None:
    visit_id = _draft(database)
    with database.write() as session:
        assert visits.submit(session, visit_id, now=NOW)
    with database.read() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        expected = score_visit(checklist_versions.definition(visit.checklist_version), ANSWERS)
        # greet_time 0.5×2 + greeted 2 + smiled 0 + named_self 1 + service 0.75 + tidiness 0.5
        # = 5.25 of weights 2+2+1+1+1+1 = 8.
        assert visit.score == pytest.approx(100 * 5.25 / 8) == expected.score
        assert visit.status == VisitStatus.SUBMITTED and visit.submitted_at is not None
        assert visit.passed is False and visit.critical_failed is False and visit.nps == 9
        scores = {a.item_id: (a.score, a.weight) for a in visit.answers}
        assert scores["greet_time"] == (0.5, 2)
        assert scores["three_yes"] == (None, None)
        assert scores["comment"] == (None, None)


def test_submitting_twice_makes_one_submission(database: Database) -> None:
    visit_id = _draft(database)
    with database.write() as session:
        assert visits.submit(session, visit_id, now=NOW)
    with database.write() as session:
        first = session.get(Visit, visit_id)
        assert first is not None
        submitted_at = first.submitted_at
        assert not visits.submit(session, visit_id, now=NOW)
    with database.read() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None and visit.submitted_at == submitted_at


def test_a_submission_that_loses_the_race_writes_no_scores(database: Database) -> None:
    """Another transaction submitted the draft after this one read it (PostgreSQL, two
    processes): the conditional UPDATE claims nothing, and no answer's score is written to
    a visit this call did not submit."""
    visit_id = _draft(database)
    with database.write() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None and visit.status == VisitStatus.DRAFT
        session.execute(
            update(Visit)
            .where(Visit.id == visit_id)
            .values(status=VisitStatus.SUBMITTED)
            .execution_options(synchronize_session=False)
        )
        assert visits.submit(session, visit_id, now=NOW) is None
    with database.read() as session:
        scores = session.scalars(select(Answer.score).where(Answer.visit_id == visit_id)).all()
        assert scores and all(score is None for score in scores)


def test_a_submission_holds_what_it_wrote_with_nothing_left_to_flush(
    database: Database,
) -> None:
    """The session's visit and answers hold the scores as written (what comes after in the
    same transaction, the integrity checks and the cards, reads them), and the commit sends
    nothing more."""
    visit_id = _draft(database)
    with database.write() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None and visit.answers  # loaded first, as the bot's draft is
        assert visits.submit(session, visit_id, now=NOW)
        assert not session.dirty and not session.new
        held = {a.item_id: (a.score, a.weight) for a in visit.answers}
        held_visit = (visit.score, visit.passed, visit.nps, visit.status)
    with database.read() as session:
        stored = session.get(Visit, visit_id)
        assert stored is not None
        assert held == {a.item_id: (a.score, a.weight) for a in stored.answers}
        assert held_visit == (stored.score, stored.passed, stored.nps, stored.status)
        assert held["greet_time"] == (0.5, 2)


def test_a_version_hashed_by_an_earlier_release_is_the_same_version(
    database: Database, tmp_path: Path
) -> None:
    """An upgrade that teaches the schema a new field changes how a checklist is hashed, not
    what it says: a deployment's registered versions stay the versions they were."""
    shutil.copy(SHIPPED_DIR / "store_visit.yaml", tmp_path / "store_visit.yaml")
    first = _register(database, tmp_path)["store_visit"]
    with database.write() as session:
        stored = session.get(ChecklistVersion, first.id)
        assert stored is not None
        stored.content_hash = "hashed-by-an-earlier-release"
    again = _register(database, tmp_path)["store_visit"]
    assert again.id == first.id and again.content_hash == first.content_hash
    path = tmp_path / "store_visit.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("pass_mark: 80", "pass_mark: 75"))
    with pytest.raises(ChecklistError):
        _register(database, tmp_path)  # a real change still needs a new version


def test_an_update_is_recorded_once_and_its_repeat_is_told_apart(database: Database) -> None:
    """The full path's dedup record: the first time True, a repeat False, in the same
    transaction and in a later one, on SQLite and on PostgreSQL alike."""
    with database.write() as session:
        assert updates.first_time(session, 1)
        assert not updates.first_time(session, 1)
    with database.write() as session:
        assert not updates.first_time(session, 1)
        assert updates.first_time(session, 2)


def test_a_statement_with_a_list_bound_into_in_is_refused_when_prepared(
    database: Database,
) -> None:
    """``storage.prepared`` compiles a statement once and runs its SQL as it is: a list
    bound into ``IN`` is rendered anew for each run, so it is refused at once, not at a
    shopper's update with the driver's syntax error."""
    statuses = (VisitStatus.DRAFT, VisitStatus.SUBMITTED)
    with pytest.raises(ValueError, match="IN"):
        Prepared(select(Visit.id).where(Visit.status.in_(statuses)), database.engine.dialect)
