"""The quick path of the pickers (``storage/quick_pickers.py``): ``/visit`` and the store,
checklist and employee lists of a shopper with no draft, in a few statements, showing what
the full path shows; anything else is left to the full path with nothing changed."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from bot.callbacks import Op, Pressed, decode, encode
from bot.service import Service
from bot.service.base import Setting, request
from bot.service.outcome import Outcome
from storage import checklist_versions
from storage.db import Database
from storage.models import (
    Employee,
    HandledUpdate,
    Person,
    ReviewStatus,
    Role,
    Store,
    Visit,
    VisitStatus,
)
from storage.people import TelegramIdentity
from testkit.bot_harness import SCRIPTED_RULES, ZONE, World, add_person, make_world
from visits import assignments
from visits.clock import Clock

SHOPPER = 701
PICKER_STATEMENTS = 8
"""BEGIN, the person (with whether they have a draft or a returned visit to look at first),
the update's record, then a page's reads (at most four: the store list's assigned stores,
stores, open assignments and their checklists), COMMIT."""


@pytest.fixture
def world(database: Database) -> World:
    """Two pages of stores, two of Tverskaya's employees, Arbat taking calls only, a
    closed store, and two open assignments of the shopper."""
    world = make_world(database)
    with database.write() as session:
        session.add_all(Store(code=f"X{n:02}", name=f"Store {n:02}") for n in range(12))
        session.add(Store(code="CL", name="Closed", active=False))
        session.scalars(select(Store).where(Store.code == "S2")).one().channels = "phone"
        session.add_all(
            Employee(code=f"T{n:02}", name=f"Trainee {n:02}", store_id=world.store_id)
            for n in range(9)
        )
    add_person(database, SHOPPER, Role.EVALUATOR, ["S1", "X03"])
    today = Clock(ZONE).today()
    with database.write() as session:
        assignments.create(
            session,
            [
                assignments.NewAssignment(
                    "S2", "phone_call", str(SHOPPER), today, today + timedelta(days=2)
                ),
                assignments.NewAssignment(
                    "S1", "store_visit", str(SHOPPER), today, today + timedelta(days=5)
                ),
            ],
            set(world.versions),
        )
    return world


def setting(world: World, language: str) -> Setting:
    return Setting(
        database=world.database,
        default_language=language,
        clock=Clock(ZONE),
        checklist_versions=world.versions,
        rules=SCRIPTED_RULES,
    )


@pytest.fixture
def service(world: World) -> Service:
    return Service(setting(world, "en"))


WHO = TelegramIdentity(SHOPPER, "Shopper", None, "en")
UPDATE_IDS = itertools.count(1)


def full_path(service: Service, pressed: Pressed | None) -> Outcome:
    """What the full path answers (``Visiting.press`` and ``new_visit`` in a session)."""
    with service.setting.database.write() as session:
        r = request(session, WHO, service.setting, next(UPDATE_IDS))
        if pressed is None:
            return service.visiting.new_visit(r)
        return service.visiting.press(r, "", pressed)


@contextmanager
def driver_statements(database: Database) -> Iterator[list[str]]:
    """The statements SQLite ran meanwhile on any new connection (the quick path's are on
    the driver's connection, which SQLAlchemy's events do not see); none counted on
    PostgreSQL."""
    sent: list[str] = []
    if not database.is_sqlite:
        yield sent
        return

    def trace(connection: sqlite3.Connection, record: object) -> None:
        connection.set_trace_callback(sent.append)

    database.dispose()
    event.listen(database.engine, "connect", trace)
    try:
        yield sent
    finally:
        event.remove(database.engine, "connect", trace)
        database.dispose()


def presses(world: World) -> list[Pressed | None]:
    """``/visit`` (None), then every kind of picker page."""
    store, phones = world.store_id, world.store_id + 1
    visit, call = world.versions["store_visit"], world.versions["phone_call"]
    return [
        None,
        *(
            decode(data)
            for data in (
                encode(Op.STORES, 1),
                encode(Op.STORES, 0),
                encode(Op.STORE, store),
                encode(Op.STORE, phones),
                encode(Op.CHECKLIST, store, visit),
                encode(Op.EMPLOYEES, store, visit, 1),
                encode(Op.EMPLOYEES, store, visit, 0),
                encode(Op.CHECKLIST, phones, call),
            )
        ),
    ]


@pytest.mark.parametrize("language", ["en", "ru"])
def test_each_picker_page_is_the_full_paths_in_a_few_statements(
    world: World, language: str
) -> None:
    """Assignments first, assigned stars, pages, the checklists of the store's channels, the
    employee pages: the same screens, in Russian and English, read in at most
    ``PICKER_STATEMENTS`` statements."""
    service = Service(setting(world, language))
    for pressed in presses(world):
        expected = full_path(service, pressed)
        with driver_statements(world.database) as sent:
            update_id = None if pressed is None else next(UPDATE_IDS)
            quick = service.visiting.quick_pick(WHO, pressed, update_id)
        assert quick == expected, pressed
        if world.database.is_sqlite:
            assert 3 <= len(sent) <= PICKER_STATEMENTS, (pressed, sent)
    first = [label for [(label, _)] in full_path(service, None).send[0].buttons[:4]]
    assert [label[0] for label in first] == ["📌", "📌", "⭐", "⭐"]  # compared above, shown


def test_a_picker_press_is_recorded_once_and_a_repeat_is_the_full_paths(
    service: Service, world: World
) -> None:
    pressed = decode(encode(Op.STORE, world.store_id))
    assert service.visiting.quick_pick(WHO, pressed, 5_000) is not None
    assert service.visiting.quick_pick(WHO, pressed, 5_000) is None
    with world.database.read() as session:
        assert session.scalar(select(func.count()).select_from(HandledUpdate)) == 1


def the_draft_opened(service: Service, world: World) -> None:
    store, visit = world.store_id, world.versions["store_visit"]
    service.callback(WHO, encode(Op.EMPLOYEE, store, visit, world.anna_id), next(UPDATE_IDS))


def a_returned_visit(service: Service, world: World) -> None:
    the_draft_opened(service, world)
    with world.database.write() as session:
        visit = session.scalars(select(Visit)).one()
        visit.status, visit.review_status = VisitStatus.SUBMITTED, ReviewStatus.REJECTED
        visit.resubmit_until = service.setting.clock.now() + timedelta(days=1)


@pytest.mark.parametrize(
    ("situation", "data"),
    [
        (the_draft_opened, "s:{store}"),
        (a_returned_visit, "s:{store}"),
        (None, "s:{closed}"),
        (None, "cl:{phones}:{visit}"),
        (None, "em:{phones}:{visit}:{anna}"),
    ],
    ids=["a draft", "returned", "a closed store", "no channel", "not its staff"],
)
def test_what_the_pickers_may_not_show_at_once_is_left_to_the_full_path_unchanged(
    service: Service, world: World, situation: object, data: str
) -> None:
    """A draft or a returned visit to look at first, a refusal: no answer, and not even the
    update's record is kept."""
    if callable(situation):
        situation(service, world)
    with world.database.read() as session:
        closed = session.scalars(select(Store.id).where(Store.code == "CL")).one()
        before = session.scalar(select(func.count()).select_from(HandledUpdate))
    filled = data.format(
        store=world.store_id,
        phones=world.store_id + 1,
        closed=closed,
        visit=world.versions["store_visit"],
        anna=world.anna_id,
    )
    assert service.visiting.quick_pick(WHO, decode(filled), next(UPDATE_IDS)) is None
    with world.database.read() as session:
        assert session.scalar(select(func.count()).select_from(HandledUpdate)) == before


TWIN = 702


def stored(service: Service, who: TelegramIdentity) -> dict[str, object]:
    """The shopper's visit as stored, but for what is not the same for twins."""
    with service.setting.database.read() as session:
        row = session.scalars(
            select(Visit).join(Person).where(Person.telegram_id == who.telegram_id)
        ).one()
        return {
            column.key: getattr(row, column.key)
            for column in Visit.__table__.columns
            if column.key not in ("id", "evaluator_id", "started_at")
        }


def without_visit_ids(outcome: Outcome) -> list[object]:
    """The screen, each button's data without the visit's id (the twins' differ)."""
    screen = outcome.edit if outcome.edit is not None else outcome.send[-1]
    return [
        screen.text,
        screen.replaces,
        screen.menu,
        outcome.toast,
        [
            (label, data.split(":")[:1] + data.split(":")[2:])
            for row in screen.buttons
            for label, data in row
        ],
    ]


@pytest.mark.parametrize(
    ("checklist", "employee", "located"),
    [
        ("store_visit", "anna", True),
        ("store_visit", "anna", False),
        ("store_visit", "not in the list", True),
        ("phone_call", "anna", True),
    ],
)
def test_the_choice_that_starts_a_visit_stores_and_shows_what_the_full_path_does(
    service: Service, world: World, checklist: str, employee: str, located: bool
) -> None:
    """Twins press the same last choice, one by the quick path and one by the full path:
    the same draft is stored (a store visit checked in where its shopper shared a location
    minutes before; a call never) and the same first screen shown."""
    add_person(world.database, TWIN, Role.EVALUATOR, ["S1", "X03"])
    twin = TelegramIdentity(TWIN, "Twin", None, "en")
    if located:
        with world.database.write() as session:
            at = service.setting.clock.now() - timedelta(minutes=2)
            for person in session.scalars(select(Person).where(Person.telegram_id > 0)):
                person.last_latitude, person.last_longitude = 55.7601, 37.6101
                person.last_location_at = at
    version = world.versions[checklist]
    chosen = world.anna_id if employee == "anna" else 0
    data = encode(Op.EMPLOYEE, world.store_id, version, chosen)
    quick = service.visiting.quick_pick(WHO, decode(data), next(UPDATE_IDS))
    assert quick is not None
    with world.database.write() as session:
        r = request(session, twin, service.setting, next(UPDATE_IDS))
        full = service.visiting.press(r, data, decode(data))
    assert without_visit_ids(quick) == without_visit_ids(full)
    ours = stored(service, WHO)
    assert ours == stored(service, twin)
    assert (ours["checkin_latitude"] is not None) == (located and checklist == "store_visit")


def test_on_an_sqlite_without_returning_the_start_is_left_to_the_full_path(
    service: Service, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite before 3.35 has no ``INSERT … RETURNING`` (SQLAlchemy says so in the dialect's
    ``insert_returning``): the quick path steps aside and the ORM starts the visit."""
    if not world.database.is_sqlite:
        pytest.skip("an SQLite matter")
    monkeypatch.setattr(world.database.engine.dialect, "insert_returning", False)
    store, version = world.store_id, world.versions["store_visit"]
    data = encode(Op.EMPLOYEE, store, version, world.anna_id)
    assert service.visiting.quick_pick(WHO, decode(data), next(UPDATE_IDS)) is None
    outcome = service.callback(WHO, data, next(UPDATE_IDS), None)
    assert outcome.edit is not None and "Anna Ivanova" in outcome.edit.text
    with world.database.read() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 1


def test_a_new_process_answers_its_first_pickers_by_the_quick_path(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registering the checklists at start-up leaves them validated in the process, so the
    first shoppers' pickers need not take the full path to validate them (on the event
    loop). A process's cache starts empty: emptied here, as in a process just started."""
    monkeypatch.setattr(checklist_versions, "_validated", {})
    world = make_world(database)
    add_person(database, SHOPPER, Role.EVALUATOR, ["S1"])
    service = Service(setting(world, "en"))
    pressed = decode(encode(Op.STORE, world.store_id))
    assert service.visiting.quick_pick(WHO, pressed, next(UPDATE_IDS)) is not None
