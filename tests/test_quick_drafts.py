"""The quick path of a shopper's press (``storage/quick_drafts.py``): a few statements, and
what it shows is what it stored, for every shipped checklist."""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool.base import _ConnectionFairy

from bot.callbacks import Op, decode
from bot.i18n import Translator
from bot.service import Service
from bot.service.base import Setting
from bot.service.outcome import Outcome, Reply
from bot.service.screens import render
from storage.db import Database, WouldWait
from storage.drafts import Records
from storage.models import Answer, HandledUpdate, Photo, Role, Visit, VisitStatus
from storage.people import TelegramIdentity
from storage.quick_drafts import record_first_time
from testkit.bot_harness import SCRIPTED_RULES, ZONE, World, add_person, make_world
from visits.clock import Clock
from visits.flow import VisitFlow

SHOPPER = 601
WHO = TelegramIdentity(SHOPPER, "Shopper", None, "en")
CHECKLISTS = ("Store visit", "Phone call", "Online chat and messengers")
QUICK_STATEMENTS = 7
"""BEGIN, the person with their drafts, the update's record, the answers, the evidence, the
visit's update, one answer written: the most a quick press sends."""
LEFT_TO_THE_FULL_PATH = {Op.SUBMIT, Op.CANCEL_CONFIRMED, Op.CHANGE_EMPLOYEE}


@pytest.fixture
def world(database: Database) -> World:
    world = make_world(database)
    add_person(database, SHOPPER, Role.EVALUATOR, ["S1"])
    return world


@pytest.fixture
def service(world: World) -> Service:
    return Service(
        Setting(
            database=world.database,
            default_language="en",
            clock=Clock(ZONE),
            checklist_versions=world.versions,
            rules=SCRIPTED_RULES,
        )
    )


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    """The SQL statements sent meanwhile."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


class Presser:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.update_ids = itertools.count(1)

    def press(self, outcome: Outcome, label: str) -> Outcome:
        data = next(
            d for reply in shown(outcome) for row in reply.buttons for t, d in row if t == label
        )
        return self.service.callback(WHO, data, next(self.update_ids), None)

    def open(self, checklist: str) -> Outcome:
        outcome = self.service.new_visit(WHO)
        for label in ("⭐ Tverskaya", checklist, "Anna Ivanova · Seller"):
            outcome = self.press(outcome, label)
        return outcome


def shown(outcome: Outcome) -> list[Reply]:
    return [*(r for r in (outcome.edit,) if r is not None), *outcome.send]


def stored_screen(database: Database) -> Reply:
    """The draft as the full path reads it from the database, rendered."""
    with database.read() as session:
        visit = session.scalars(select(Visit).where(Visit.status == VisitStatus.DRAFT)).one()
        flow = VisitFlow(Records(session), visit, Clock(ZONE))
        return render(flow.screen(), Translator("en"))


def buttons(outcome: Outcome) -> list[tuple[str, str]]:
    return [(t, d) for reply in shown(outcome) for row in reply.buttons for t, d in row]


@pytest.mark.parametrize("checklist", CHECKLISTS)
def test_each_press_takes_a_few_statements_and_shows_what_was_stored(
    service: Service, world: World, checklist: str
) -> None:
    """Through a whole checklist, pressing every kind of button in turn (answers, back, not
    applicable, skip, ticks, the stopwatch, a comment asked for, the review and an edit from
    it, cancel asked and kept) and typing now and then (a number, a comment): each update
    that moves the draft is answered in at most ``QUICK_STATEMENTS`` statements, and its
    screen is the one the full path renders from what was committed."""
    presser = Presser(service)
    outcome = presser.open(checklist)
    seen: set[str] = set()
    turn = itertools.count()
    for n in range(150):
        choices = [
            (label, data)
            for label, data in buttons(outcome)
            if (pressed := decode(data)) is not None and pressed.op not in LEFT_TO_THE_FULL_PATH
        ]
        if not choices:
            break
        typing = (seen and n % 5 == 0) or "comment" in (outcome.edit.text if outcome.edit else "")
        with counted(world.database) as sent:
            if typing:
                text = "Noted by the shopper" if n % 2 else "25"
                outcome = service.text(WHO, text, next(presser.update_ids))
                kind, shown_now = "typed", outcome.send[-1]
            else:
                _, data = choices[next(turn) % len(choices)]
                outcome = service.callback(WHO, data, next(presser.update_ids), None)
                kind, shown_now = decode(data).op.name, outcome.edit  # type: ignore[union-attr]
        if outcome.alert:  # refused: worded by the full path, nothing changed
            continue
        seen.add(kind)
        assert len(sent) <= QUICK_STATEMENTS, (kind, sent)
        if kind != Op.HINT.name:
            assert shown_now == stored_screen(world.database), kind
    assert {"ANSWER", "BACK", "REVIEW", "EDIT", "CANCEL", "KEEP", "COMMENT", "typed"} <= seen


def test_a_repeated_press_changes_nothing_and_shows_the_current_question(
    service: Service, world: World
) -> None:
    presser = Presser(service)
    presser.open("Store visit")
    outcome = service.text(WHO, "25", next(presser.update_ids))  # the first: seconds, typed
    data = next(d for t, d in buttons(outcome) if t == "Yes")
    first = service.callback(WHO, data, 10_000, None)
    with world.database.read() as session:
        before = session.scalar(select(func.count()).select_from(Answer))
    again = service.callback(WHO, data, 10_000, None)
    with world.database.read() as session:
        after = session.scalar(select(func.count()).select_from(Answer))
        handled = session.scalar(select(func.count()).select_from(HandledUpdate))
    assert before == after == 2
    assert again.edit == first.edit == stored_screen(world.database)
    assert handled == 5


def test_a_repeated_update_on_the_full_path_changes_nothing_on_either_database(
    service: Service, world: World
) -> None:
    """Telegram delivers at least once: a photo (the full path's) delivered again under the
    same update id is kept once, its caption once, on SQLite and on PostgreSQL alike."""
    presser = Presser(service)
    presser.open("Store visit")
    for _ in range(2):
        service.photo(WHO, "file-door", "unique-door", 20_000, caption="door")
    with world.database.read() as session:
        photos = session.scalar(select(func.count()).select_from(Photo))
        comments = list(session.scalars(select(Answer.comment).where(Answer.comment.is_not(None))))
    assert (photos, comments) == (1, ["door"])


def test_an_answer_keeps_its_time_until_it_is_answered_again(
    service: Service, world: World
) -> None:
    """The quick path does not read an answer's time; it writes it when the flow stamps it.
    Going back and on leaves it as it was; changing the answer stamps it anew."""
    presser = Presser(service)
    presser.open("Store visit")
    outcome = service.text(WHO, "25", next(presser.update_ids))

    def times() -> dict[str, Any]:
        with world.database.read() as session:
            rows = session.execute(select(Answer.item_id, Answer.answered_at)).all()
            return {item: at for item, at in rows}

    outcome = presser.press(outcome, "Yes")
    first = times()
    outcome = presser.press(presser.press(outcome, "◀ Back"), "Next ▶")
    assert times() == first
    outcome = presser.press(presser.press(outcome, "◀ Back"), "No")
    again = times()
    changed = {item for item in again if again[item] != first[item]}
    assert len(first) == 2 and len(changed) == 1
    [item] = changed
    assert again[item] > first[item]


@pytest.mark.parametrize("forged", ["ans:0:1:1", "cx:0:1", "na:0:1"])
def test_a_button_naming_visit_zero_is_refused_and_changes_nothing(
    service: Service, world: World, forged: str
) -> None:
    """Visit 0 is no visit: the quick path must not read it as "the draft you have"."""
    presser = Presser(service)
    presser.open("Store visit")
    asked = service.text(WHO, "25", next(presser.update_ids))
    outcome = service.callback(WHO, forged, next(presser.update_ids), None)
    assert outcome.alert and outcome.toast == "This button is not valid."
    assert stored_screen(world.database) == asked.send[-1]


@contextmanager
def another_writer(database: Database, holder: str) -> Iterator[None]:
    """The database's write lock held meanwhile: by another connection (as another process
    holds it) or by another thread of this process inside ``Database.write``."""
    if holder == "another process":
        url = database.url.database
        assert url is not None
        lock = sqlite3.connect(url, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        return
    inside, done = threading.Event(), threading.Event()

    def write() -> None:
        with database.write() as session:
            session.execute(select(1))
            inside.set()
            done.wait(30)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert inside.wait(30)
        yield
    finally:
        done.set()
        thread.join()


@pytest.mark.parametrize("holder", ["another process", "another thread"])
def test_the_conversation_on_the_event_loop_steps_aside_while_another_writer_works(
    service: Service, world: World, holder: str
) -> None:
    """The event loop must never wait for a lock: while another writer holds the database,
    a press, a typed answer or ``/visit`` told not to wait raise ``WouldWait`` at once with
    nothing done (the busy timeout is 10 s), for a worker thread to do them; once the
    database is free, they are done where they were asked."""
    if not world.database.is_sqlite:
        pytest.skip("PostgreSQL's writes are never tried on the event loop (the next test)")
    presser = Presser(service)
    presser.open("Store visit")
    asked = service.text(WHO, "25", next(presser.update_ids))
    yes = next(d for t, d in buttons(asked) if t == "Yes")
    with world.database.read() as session:
        handled = session.scalar(select(func.count()).select_from(HandledUpdate))
    with another_writer(world.database, holder):
        began = time.monotonic()
        with pytest.raises(WouldWait):
            service.callback(WHO, yes, 900, None, wait=False)
        with pytest.raises(WouldWait):
            service.text(WHO, "26", 901, wait=False)
        with pytest.raises(WouldWait):
            service.new_visit(WHO, wait=False)
        assert time.monotonic() - began < 1
    assert stored_screen(world.database) == asked.send[-1]
    with world.database.read() as session:
        assert session.scalar(select(func.count()).select_from(HandledUpdate)) == handled
    pressed = service.callback(WHO, yes, 900, None, wait=False)
    assert pressed.edit == stored_screen(world.database)
    typed = service.text(WHO, "Noted by the shopper", 901, wait=False)
    assert typed.send[-1] == stored_screen(world.database)
    assert "unfinished visit" in service.new_visit(WHO, wait=False).send[-1].text


def test_a_database_that_refuses_writes_says_so_alike_waiting_or_not(world: World) -> None:
    """A write SQLite refuses for another reason than a lock (here a read-only connection, as
    on a failing disk) comes out as SQLAlchemy's error whether the write was told to wait
    or not: the bot tells an unavailable database from its own fault by that type."""
    if not world.database.is_sqlite:
        pytest.skip("an SQLite connection made read-only")
    refusing = Database(world.database.url.render_as_string(hide_password=False))

    def read_only(dbapi: Any, _record: Any) -> None:
        dbapi.execute("PRAGMA query_only=1")

    event.listen(refusing.engine, "connect", read_only)
    try:
        for wait in (True, False):
            with pytest.raises(OperationalError), refusing.write(wait=wait) as session:
                session.execute(select(1))
            with pytest.raises(OperationalError), refusing.write_driver(wait=wait) as driver:
                driver.execute("SELECT 1")
    finally:
        refusing.dispose()


def test_on_postgresql_nothing_is_tried_on_the_event_loop(service: Service, world: World) -> None:
    """Every statement on PostgreSQL is a round trip to the server: the event loop would
    wait for each, so a call told not to wait leaves the update to a worker thread."""
    if world.database.is_sqlite:
        pytest.skip("SQLite's writes are tried on the event loop (the test before)")
    presser = Presser(service)
    presser.open("Store visit")
    asked = service.text(WHO, "25", next(presser.update_ids))
    yes = next(d for t, d in buttons(asked) if t == "Yes")
    with pytest.raises(WouldWait):
        service.callback(WHO, yes, 900, None, wait=False)
    with pytest.raises(WouldWait):
        service.text(WHO, "26", 901, wait=False)
    assert stored_screen(world.database) == asked.send[-1]


def test_a_failed_transaction_on_the_driver_connection_leaves_nothing_and_the_next_goes_on(
    database: Database,
) -> None:
    """The quick path's transactions share one connection on SQLite, from whichever thread
    has the turn: one that fails half-way writes nothing and leaves the connection ready for
    the next, in this thread or another."""
    dialect, now = database.engine.dialect, Clock(ZONE).now()
    for update_id in (1, 2):
        with pytest.raises(RuntimeError), database.write_driver() as driver:
            record_first_time(driver, dialect, update_id, now)
            raise RuntimeError("the handler failed after its first statement")

    def record(update_id: int) -> None:
        with database.write_driver() as driver:
            record_first_time(driver, dialect, update_id, now)

    record(3)
    other = threading.Thread(target=record, args=(4,))
    other.start()
    other.join()
    record(5)
    with database.read() as session:
        assert session.scalars(select(HandledUpdate.update_id)).all() == [3, 4, 5]


def test_closing_the_database_waits_for_a_transaction_under_way_on_the_driver_connection(
    database: Database,
) -> None:
    """``Database.dispose`` (a shutdown) from one thread while another is inside
    ``write_driver``: the transaction under way still commits whole, and the next write
    opens a new connection."""
    dialect, now = database.engine.dialect, Clock(ZONE).now()
    inside, failures = threading.Event(), []

    def writer() -> None:
        try:
            with database.write_driver() as driver:
                record_first_time(driver, dialect, 7, now)
                inside.set()
                time.sleep(0.3)  # dispose is called meanwhile
                record_first_time(driver, dialect, 8, now)
        except BaseException as failure:  # reported below
            failures.append(failure)

    with database.write_driver() as driver:  # the kept connection exists already
        record_first_time(driver, dialect, 6, now)
    other = threading.Thread(target=writer)
    other.start()
    assert inside.wait(5)
    database.dispose()
    other.join(10)
    assert failures == []
    with database.write_driver() as driver:
        record_first_time(driver, dialect, 9, now)
    with database.read() as session:
        assert session.scalars(select(HandledUpdate.update_id)).all() == [6, 7, 8, 9]


def test_a_transaction_whose_rollback_was_cut_short_holds_no_lock_afterwards(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interruption (Ctrl-C, any ``BaseException``) that lands while a failed transaction
    on the driver's connection is being rolled back, before the rollback ran: the
    transaction's writes are not kept, and neither this process's other writers nor
    another process wait on a lock it left held."""
    dialect, now = database.engine.dialect, Clock(ZONE).now()
    with database.write_driver() as driver:  # the kept connection exists already
        record_first_time(driver, dialect, 1, now)

    def interrupted(_self: object) -> None:
        monkeypatch.undo()
        raise KeyboardInterrupt

    monkeypatch.setattr(_ConnectionFairy, "rollback", interrupted, raising=False)
    with pytest.raises(KeyboardInterrupt), database.write_driver() as driver:
        record_first_time(driver, dialect, 2, now)
        raise RuntimeError("the handler failed")
    elsewhere = Database(database.url.render_as_string(hide_password=False), busy_timeout_ms=300)
    try:
        with elsewhere.write() as session:
            session.add(HandledUpdate(update_id=3, handled_at=now))
    finally:
        elsewhere.dispose()
    with database.write_driver() as driver:
        record_first_time(driver, dialect, 4, now)
    with database.read() as session:
        assert session.scalars(select(HandledUpdate.update_id)).all() == [1, 3, 4]
