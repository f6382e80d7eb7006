"""Random input from several people in random order: nothing crashes, nothing wrong is kept.

Texts (numbers, huge numbers, unicode, control characters, formulas), commands, stale and
forged buttons (other scripts' digits, signs, spaces, junk, data longer than Telegram allows),
photos and locations come from evaluators, an admin, managers, HR and a stranger in any order.
Most examples drive the application (``bot.service.Service``) directly and synchronously — the
very calls the Telegram handlers make, routed as the application routes them, without Telegram — so
that many sequences run in seconds; a smaller variant sends the same kind of input through the
real bot and the fake Bot API server. After every step and after every sequence the database
is checked: every answer valid for its item, no visit changed or shown by anyone but its
shopper, every draft resumable, at most one draft per shopper, submitted scores as the scoring
rules give them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cached_property

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, delete, select

from bot import callbacks
from bot.callbacks import MAX_NUMBER, Op, Route
from bot.i18n import LANGUAGES, Translator
from bot.service import Service
from bot.service.base import VISIT_ROLES, Setting
from bot.service.outcome import Outcome
from bot.service.report_requests import EARLIEST_WEEK
from bot.service.screens import Reply
from checklists.answers import check_value
from checklists.scoring import Answer as A
from checklists.scoring import score_visit
from exports import delivery
from exports.weeks import Week
from storage import people
from storage.checklist_versions import definition
from storage.db import Database
from storage.drafts import Records
from storage.models import (
    Answer,
    Person,
    Photo,
    ReviewStatus,
    Role,
    Visit,
    VisitCard,
    VisitStatus,
)
from storage.people import TelegramIdentity, person_by_telegram_id
from storage.visits import answer_value, answers_of
from testkit.bot_harness import (
    ZONE,
    RunningBot,
    World,
    add_person,
    invite,
    make_world,
    submitted_visit,
)
from testkit.fakebotapi import FakeBotApi, FakeUser
from visits.clock import Clock
from visits.flow import MAX_COMMENT, MAX_DESCRIPTION

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday: the last full week is W47
ADMIN = 999


@dataclass(frozen=True)
class Someone:
    telegram_id: int
    role: Role | None
    stores: tuple[str, ...] = ()


PEOPLE = (
    Someone(501, Role.EVALUATOR, ("S1",)),
    Someone(502, Role.EVALUATOR),
    Someone(ADMIN, Role.ADMIN),
    Someone(601, Role.MANAGER, ("S1",)),
    Someone(602, Role.MANAGER, ("S2",)),
    Someone(603, Role.HR),
    Someone(700, None),  # a stranger
)
VISIT_OPS = frozenset(op.value for op, spec in callbacks.OPS.items() if spec.route == Route.VISIT)
OPS = sorted({op.value for op in Op} | {"zz", ""})
PROGRESS = ("sub", "em", "cl", "s", "ans", "t1", "t0", "done", "skip")
"""Buttons that move a visit on, most forward first: pressing them finishes visits."""
MARKER = "<marker>"
INVITATIONS = ("<invite0>", "<invite1>")


def marker(telegram_id: int) -> str:
    """Text only this person ever types: it must never reach anyone else."""
    return f"secret{telegram_id}x"


# What people send

SPECIAL_TEXTS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "@SUM(A1)",
    "9999",
    "900",
    "901",
    "-1",
    "0",
    "3",
    "25 sec",
    "1e3",
    "3.5",
    "0x10",
    "١٢",  # Arabic-Indic digits
    "１２",  # full-width digits
    "12\n",
    "yes",
    "Нет",
    "<b>bold</b> &amp; <script>",
    "🙂" * 30,
    "x" * (MAX_DESCRIPTION + 1),
    "y" * (MAX_COMMENT + 1),
    "z" * 2001,
    "\x00",
    "a\x00b",
    "\u202eevil\u202c",
    "\ufeff\u200b",
    "🆕 New visit",
    "▶ Continue visit",
    "/visit",
]
TEXTS = st.one_of(
    st.text(max_size=40),
    st.integers(-1000, 1000).map(str),
    st.integers(10**9, 10**80).map(str),
    st.sampled_from(SPECIAL_TEXTS),
    st.text(st.characters(max_codepoint=0x1F) | st.sampled_from("\x7f\x85\u2028"), max_size=8),
    st.just(MARKER),
)
WEEKS = ["2026-W47", "2026-W46", "2026-W48", "2026-W53", "2026-W60", "0001-W01", "1999-W52"]
WEEKS += ["2000-W01", "9999-W52", "２０２６-W47", "garbage", "<b>"]
COMMAND_ARGS = st.one_of(
    st.none(), st.text(max_size=20), st.sampled_from(WEEKS), st.sampled_from(INVITATIONS)
)
COMMANDS = ["start", "help", "visit", "visit", "visit", "resume", "cancel", "report", "resend"]
USER = st.sampled_from([0, 0, 0, 1, 1, 2, 2, 3, 4, 5, 6])  # mostly the shoppers
NUMBERS = st.one_of(st.integers(-3, 25), st.integers(-(2**70), 2**70))
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def lookalikes(number: int) -> list[str]:
    """``number`` as ``int()`` or ``str.isdigit()`` would also read it; no button sends these."""
    text = str(number)
    return [
        text.translate(ARABIC_INDIC),
        text.translate(FULL_WIDTH),
        f" {text}",
        f"{text} ",
        f"{text}\n",
        f"+{text}",
        f"0_{text}",
    ]


ODD_FIELDS = ["²", "١٢", "５", "٣", "\t5", "5_0", "+5", "-", "--5", "0x10", "1e3", "", "a", "n"]
FIELDS = st.one_of(
    NUMBERS.map(str),
    st.integers(0, 12).map(lookalikes).flatmap(st.sampled_from),
    st.sampled_from(ODD_FIELDS),
)
"""Fields of forged callback data: numbers, and what only a forged button would carry."""
ODD_CALLBACKS = ["rv:a:²", "rv:n:٣", "fu:²:1", "fu:1:٣", "em:١:1:0", "st:５", "ans:1:0:1 "]
ODD_CALLBACKS += ["s:" + "0" * 62 + "1", "ans:1:0:" + "1" * 60, "é" * 40, ":", "::", "rv:", "ä:1"]
RAW_CALLBACKS = st.one_of(
    st.text(max_size=64),
    st.text("0123456789:-+_ \nabcemnrsuvz²١٢３５٣", max_size=80),
    st.text(min_size=65, max_size=100),
    st.sampled_from(ODD_CALLBACKS),
)
WAIT = st.tuples(st.just("wait"), st.integers(1, 3000))


def actions(user: st.SearchStrategy[int], *, through_the_bot: bool = False) -> st.SearchStrategy:
    """One thing ``user`` does; the real bot gets no commands that build workbooks."""
    text = st.tuples(st.just("text"), user, TEXTS)
    if through_the_bot:
        names = ["start", "help", "visit", "visit", "resume", "cancel"]
        args = st.one_of(st.none(), st.text(max_size=10), st.sampled_from(INVITATIONS))
        command = st.tuples(st.just("command"), user, st.sampled_from(names), args) | st.tuples(
            st.just("command"), user, st.sampled_from(["report", "resend"]), E2E_WEEKS
        )
    else:
        command = st.tuples(st.just("command"), user, st.sampled_from(COMMANDS), COMMAND_ARGS)
    press = st.tuples(
        st.just("press"),
        user,
        st.sampled_from(["progress", "progress", "progress", "latest", "stale", "foreign"]),
        st.integers(0, 40),
    )
    forge = st.tuples(
        st.just("forge"),
        user,
        st.sampled_from(OPS),
        st.one_of(st.none(), st.integers(0, 10)),  # a known visit (anyone's), or none
        st.lists(FIELDS, max_size=4),
    )
    raw = st.tuples(st.just("raw"), user, RAW_CALLBACKS)
    hurry = st.tuples(st.just("hurry"), user, st.integers(0, 40), st.integers(1, 30))
    photo = st.tuples(st.just("photo"), user, st.integers(0, 4))
    location = st.tuples(
        st.just("location"), user, st.floats(-90, 90), st.floats(-180, 180, exclude_max=True)
    )
    kinds = {
        "press": press,
        "hurry": hurry,
        "text": text,
        "command": command,
        "forge": forge,
        "raw": raw,
        "photo": photo,
        "location": location,
        "wait": WAIT,
    }
    weighted = ["press"] * 6 + ["hurry"] * 2 + ["text"] * 3 + ["command"] * 3 + [*kinds]
    return st.sampled_from(weighted).flatmap(kinds.__getitem__)


def sequences(*, through_the_bot: bool = False, bursts: int, burst: int) -> st.SearchStrategy:
    """Bursts of actions by one person each, so that visits get somewhere, interleaved."""
    one_person = USER.flatmap(
        lambda user: st.lists(
            actions(st.just(user), through_the_bot=through_the_bot), min_size=1, max_size=burst
        )
    )
    return st.lists(one_person, min_size=1, max_size=bursts).map(
        lambda parts: [action for part in parts for action in part]
    )


E2E_WEEKS = st.sampled_from(["0001-W01", "2099-W01", "garbage", "2026-W99"])

Action = tuple[object, ...]


def choose(buttons: list[str], mode: str, pick: int) -> str | None:
    """A button of the newest keyboard: any (``latest``), or the one that moves furthest on."""
    choices = buttons
    if mode == "progress":
        for op in PROGRESS:
            forward = [data for data in buttons if data.split(":")[0] == op]
            if op == "em" and len(forward) > 1:
                forward = forward[:-1]  # a listed employee, not "not in the list"
            if forward:
                choices = forward
                break
    return choices[pick % len(choices)] if choices else None


# Setting up and checking the database


@dataclass
class Deployment:
    world: World
    tables: MetaData
    invitations: list[str] = field(default_factory=list)

    @property
    def database(self) -> Database:
        return self.world.database

    def reset(self) -> None:
        """Everyone and everything they did gone; stores, staff and checklists stay."""
        with self.database.write() as session:
            for table in reversed(self.tables.sorted_tables):
                if table.name not in ("store", "employee", "checklist_version", "alembic_version"):
                    session.execute(delete(table))
        for someone in PEOPLE:
            if someone.role is not None:
                add_person(self.database, someone.telegram_id, someone.role, list(someone.stores))
        self.invitations = [invite(self.database, Role.EVALUATOR) for _ in INVITATIONS]

    def service(self, clock: Clock | None = None) -> Service:
        """The application as the bot runs it, on a clock that reads ``START`` unless given."""
        return Service(
            Setting(
                database=self.database,
                default_language="en",
                clock=clock or Clock.fixed(START, ZONE),
                admins=frozenset({ADMIN}),
                checklist_versions=self.world.versions,
            )
        )

    def everything(self) -> dict[str, list[tuple[object, ...]]]:
        """Every row of every table: what a refused button must leave as it was."""
        with self.database.read() as session:
            return {
                table.name: [
                    tuple(row)
                    for row in session.execute(select(table).order_by(*table.primary_key))
                ]
                for table in self.tables.sorted_tables
            }


@pytest.fixture
def deployment(database: Database) -> Iterator[Deployment]:
    world = make_world(database)
    tables = MetaData()
    tables.reflect(database.engine)
    yield Deployment(world, tables)


@dataclass(frozen=True)
class Registered:
    id: int
    role: Role


@dataclass(frozen=True)
class Snapshot:
    visits: dict[int, tuple[int, object]]
    """Every visit with its answers and photos, by id, with its shopper's person id."""
    people: dict[int, Registered]
    """Everyone active, by Telegram id."""


def snapshot(database: Database) -> Snapshot:
    with database.read() as session:
        visits = session.scalars(select(Visit).order_by(Visit.id)).all()
        answers = session.scalars(select(Answer).order_by(Answer.id)).all()
        photos = session.scalars(select(Photo).order_by(Photo.id)).all()
        people = session.execute(
            select(Person.telegram_id, Person.id, Person.role).where(Person.active)
        ).all()
        state: dict[int, tuple[int, list[object]]] = {
            v.id: (
                v.evaluator_id,
                [
                    (v.status, v.store_id, v.employee_id, v.employee_description),
                    (v.current_item, v.awaiting, v.back_to_review, v.timer_item),
                    (v.timer_started_at, v.submitted_at, v.score, v.passed, v.nps),
                ],
            )
            for v in visits
        }
        for a in answers:
            state[a.visit_id][1].append(
                (a.item_id, a.value_text, a.value_number, a.na, a.comment, a.measured, a.score)
            )
        for p in photos:
            state[p.visit_id][1].append((p.item_id, p.file_id, p.file_unique_id))
        return Snapshot(
            {vid: (owner, tuple(parts)) for vid, (owner, parts) in state.items()},
            {tid: Registered(pid, Role(role)) for tid, pid, role in people if tid is not None},
        )


def person_with_stores(database: Database, telegram_id: int) -> Person:
    with database.read() as session:
        person = person_by_telegram_id(session, telegram_id)
        assert person is not None
        _ = person.stores
        return person


def refusals() -> set[str]:
    """What a stranger may ever read: the polite refusal, or why their code did not work."""
    keys = ["start.stranger", "start.refused_unknown", "start.refused_used"]
    keys.append("start.refused_expired")
    return {Translator(language)(key) for language in LANGUAGES for key in keys}


def check_database(database: Database) -> None:
    """The invariants that must hold whatever anyone sent."""
    with database.read() as session:
        for visit in session.scalars(select(Visit)).all():
            checklist = definition(visit.checklist_version)
            photos: dict[str | None, int] = {}
            for photo in visit.photos:
                photos[photo.item_id] = photos.get(photo.item_id, 0) + 1
            for item_id, count in photos.items():
                if item_id is not None and checklist.item(item_id).kind.photos:
                    assert count <= (checklist.item(item_id).max_photos or 10), visit.id
            for row in visit.answers:
                item = checklist.item(row.item_id)  # a KeyError: an answer to no item
                if row.na:
                    assert item.na, f"N/A stored for {item.id}, which does not allow it"
                    assert row.value_text is None and row.value_number is None
                elif row.value_text is not None or row.value_number is not None:
                    value = answer_value(row).value
                    assert value is not None
                    # Raises AnswerRejected for a value (or a number out of range) not valid
                    # for the item's type; the stored form is the checked form.
                    assert check_value(item, value, today=START.date()) == value, (item.id, value)
                assert row.comment is None or 0 < len(row.comment.strip()) <= MAX_COMMENT
            described = visit.employee_id is not None or bool(visit.employee_description)
            assert visit.employee_description is None or (
                0 < len(visit.employee_description) <= MAX_DESCRIPTION
            )
            if visit.status == VisitStatus.DRAFT:
                assert visit.evaluator.role in VISIT_ROLES and visit.evaluator.active
                assert Records(session).count_drafts(visit.evaluator_id) == 1, "two drafts"
                if not described:  # only while asking for the description (or to cancel)
                    assert visit.current_item is None, "a visit with no employee at all"
                    assert visit.awaiting in ("description", "cancel")
                if visit.current_item is not None:
                    checklist.item(visit.current_item)
                if visit.timer_item is not None:
                    assert checklist.item(visit.timer_item).kind.stopwatch
                    assert visit.timer_started_at is not None
            if visit.status == VisitStatus.SUBMITTED:
                assert described, f"visit {visit.id} submitted with no employee at all"
                assert visit.submitted_at is not None and visit.awaiting is None
                result = score_visit(checklist, answers_of(visit))
                assert visit.score == pytest.approx(result.score)
                assert visit.passed == result.passed
                assert visit.critical_failed == result.critical_failed
                assert visit.nps == result.nps
                for row in visit.answers:
                    assert row.score == pytest.approx(result.items[row.item_id].score)


def visit_ids_on(replies: list[Reply]) -> set[int]:
    found = set()
    for reply in replies:
        for row in reply.buttons:
            for _, data in row:
                op, *rest = data.split(":")
                if op in VISIT_OPS and rest:
                    found.add(int(rest[0]))
    return found


def check_drafts_resume(database: Database, service: Service) -> None:
    with database.read() as session:
        drafts = [
            (v.id, v.evaluator.telegram_id)
            for v in session.scalars(select(Visit).where(Visit.status == VisitStatus.DRAFT))
        ]
    for visit_id, telegram_id in drafts:
        assert telegram_id is not None
        outcome = service.resume(TelegramIdentity(telegram_id, "x", language="en"))
        [screen] = outcome.send
        assert screen.text and screen.buttons, "a draft screen with no way on"
        assert visit_ids_on([screen]) == {visit_id}


# The direct run


@dataclass
class Run:
    deployment: Deployment
    now: datetime = START
    latest: dict[int, list[str]] = field(default_factory=dict)
    seen: dict[int, list[str]] = field(default_factory=dict)
    before: Snapshot = field(default_factory=lambda: Snapshot({}, {}))

    @property
    def database(self) -> Database:
        return self.deployment.database

    def identity(self, telegram_id: int) -> TelegramIdentity:
        language = "ru" if telegram_id % 7 == 0 else "en"
        return TelegramIdentity(telegram_id, f"Real Name {telegram_id}", language=language)

    def text_of(self, telegram_id: int, text: str) -> str:
        return marker(telegram_id) if text == MARKER else text

    def argument(self, arg: str | None) -> str | None:
        if arg in INVITATIONS:
            return self.deployment.invitations[INVITATIONS.index(arg)]
        return arg

    def button(self, telegram_id: int, mode: str, pick: int) -> str | None:
        if mode == "stale":
            choices = self.seen.get(telegram_id, [])
        elif mode == "foreign":
            choices = [d for who, ds in self.seen.items() if who != telegram_id for d in ds]
        else:
            return choose(self.latest.get(telegram_id, []), mode, pick)
        return choices[pick % len(choices)] if choices else None

    @cached_property
    def service(self) -> Service:
        """The application on this run's clock, which the ``wait`` steps move on."""
        return self.deployment.service(Clock(ZONE, lambda: self.now))

    def forged(self, op: str, visit_pick: int | None, fields: list[object]) -> str:
        known = sorted(self.before.visits)
        if visit_pick is not None and known:
            fields = [known[visit_pick % len(known)], *fields]
        return ":".join([op, *map(str, fields)])

    def press(self, who: TelegramIdentity, data: str) -> Outcome:
        return self.service.callback(who, data)

    def call(self, action: Action) -> tuple[int, Outcome] | None:
        kind = action[0]
        if kind == "wait":
            assert isinstance(action[1], int)
            self.now += timedelta(seconds=action[1])
            return None
        assert isinstance(action[1], int)
        tid = PEOPLE[action[1]].telegram_id
        who, c = self.identity(tid), self.service
        match action:
            case ("text", _, str(text)):
                return tid, c.text(who, self.text_of(tid, text))
            case ("command", _, str(name), arg):
                assert arg is None or isinstance(arg, str)
                argument = self.argument(arg)
                match name:
                    case "start":
                        return tid, c.start(who, argument)
                    case "report":
                        return tid, c.report(who, argument)
                    case "resend":
                        return tid, c.resend(who, argument)
                    case "help":
                        return tid, c.help(who)
                    case "visit":
                        return tid, c.new_visit(who)
                    case "resume":
                        return tid, c.resume(who)
                return tid, c.cancel(who)
            case ("press", _, str(mode), int(pick)):
                data = self.button(tid, mode, pick)
                return None if data is None else (tid, self.press(who, data))
            case ("forge", _, str(op), visit_pick, list(fields)):
                assert visit_pick is None or isinstance(visit_pick, int)
                return tid, self.press(who, self.forged(op, visit_pick, fields))
            case ("raw", _, str(data)):
                return tid, self.press(who, data)
            case ("photo", _, int(n)):
                return tid, c.photo(who, f"file-{n}", f"unique-{n}")
            case ("location", _, float(latitude), float(longitude)):
                return tid, c.location(who, latitude, longitude)
        raise AssertionError(f"unknown action {action!r}")

    def step(self, action: Action) -> None:
        if action[0] == "hurry":  # the most forward button, again and again
            _, user, pick, times = action
            assert isinstance(pick, int) and isinstance(times, int)
            for n in range(times):
                self.step(("press", user, "progress", pick + n))
            return
        called = self.call(action)  # no exception may escape an application call
        if called is None:
            return
        tid, outcome = called
        after = snapshot(self.database)
        check_changes(self.before, after, tid)
        check_outcome(outcome, tid, self.before, after, self.database, self.now)
        self.remember(tid, outcome)
        self.before = after

    def remember(self, telegram_id: int, outcome: Outcome) -> None:
        replies = [r for r in [outcome.edit, *outcome.send] if r is not None and r.buttons]
        if replies:
            buttons = [data for row in replies[-1].buttons for _, data in row]
            self.latest[telegram_id] = buttons
            self.seen.setdefault(telegram_id, []).extend(buttons)


def check_changes(before: Snapshot, after: Snapshot, telegram_id: int) -> None:
    """Only a visit's own shopper (an evaluator or admin) ever changes or creates it."""
    old, new = before.visits, after.visits
    actor = after.people.get(telegram_id)
    for vid in {vid for vid in old.keys() | new.keys() if old.get(vid) != new.get(vid)}:
        assert vid in new, f"visit {vid} deleted"
        assert actor is not None and new[vid][0] == actor.id, (
            f"visit {vid} of person {new[vid][0]} changed by {actor}"
        )
        assert actor.role in VISIT_ROLES
        if vid in old:
            assert old[vid][0] == new[vid][0], "a visit changed hands"


def check_outcome(
    outcome: Outcome,
    telegram_id: int,
    before: Snapshot,
    after: Snapshot,
    database: Database,
    now: datetime,
) -> None:
    replies = [r for r in [outcome.edit, *outcome.send] if r is not None]
    shown = " ".join([outcome.toast or "", *(r.text for r in replies)])
    for someone in PEOPLE:
        if someone.telegram_id != telegram_id:
            assert marker(someone.telegram_id) not in shown, "another person's text shown"
    person = after.people.get(telegram_id)
    own = {vid for vid, (owner, _) in after.visits.items() if person and owner == person.id}
    assert visit_ids_on(replies) <= own, "buttons for another person's visit"
    if telegram_id not in before.people and person is None:  # a stranger, before and after
        assert outcome.report is None and not outcome.deliver_now
        assert outcome.edit is None and outcome.role is None
        assert all(not r.buttons and not r.menu for r in replies)
        texts = [r.text for r in outcome.send] + ([outcome.toast] if outcome.toast else [])
        assert len(texts) == 1 and texts[0] in refusals(), texts
    if outcome.report is not None:
        assert person is not None and person.role in (Role.MANAGER, Role.HR, Role.ADMIN)
        scope = delivery.scope_of(person_with_stores(database, telegram_id))
        assert outcome.report.scope == scope, "another person's scope"
        week = outcome.report.week
        assert EARLIEST_WEEK <= week <= Week.last_complete(now, ZONE)
        week.recent(8)  # a workbook's trend must be computable for the week
    if outcome.deliver_now:
        assert person is not None and person.role == Role.ADMIN
    check_cards(database)


def status_of(state: object) -> object:
    assert isinstance(state, tuple)
    return state[0][0]


def check_cards(database: Database) -> None:
    """Visit cards go only to managers of the visit's store, and only for visits that
    counted (unflagged, or accepted; voided since, perhaps). A manager who took another
    role's invitation since keeps the cards made for them, undeliverable: delivery skips a
    card whose person no longer manages the store (``storage.cards.claim``)."""
    with database.read() as session:
        for card in session.scalars(select(VisitCard)):
            visit, manager = card.visit, card.manager
            if manager.role != Role.MANAGER:
                assert not people.manages(manager, visit.store_id)
                continue
            assert visit.store_id in {s.id for s in manager.stores}
            assert visit.status in (VisitStatus.SUBMITTED, VisitStatus.VOIDED)
            assert visit.review_status in (None, ReviewStatus.ACCEPTED)


FINISH_A_VISIT: list[Action] = [
    ("command", 0, "visit", None),
    *[("press", 0, "progress", 0)] * 25,
    ("command", 0, "visit", None),
]
DESCRIBE_AND_FINISH: list[Action] = [
    ("command", 2, "visit", None),
    ("press", 2, "progress", 0),
    ("press", 2, "progress", 0),
    ("forge", 2, "em", None, [2, 1, 0]),  # store 2, the first checklist, not in the list
    ("forge", 2, "back", 0, [-1]),  # the review's Back while the employee is not described
    ("text", 2, MARKER),
    *[("press", 2, "progress", 1)] * 25,  # "no" to everything: a critical failure, cards
    ("press", 0, "foreign", 3),
    ("command", 4, "report", None),
]
OTHER_DIGITS: list[Action] = [
    *FINISH_A_VISIT,
    ("raw", 2, "rv:a:²"),  # the admin; int("²") raises although "²".isdigit()
    ("forge", 2, "rv", None, ["a", "١"]),  # visit 1 in Arabic-Indic digits
    ("raw", 3, "fu:²:1"),  # a manager of S1
    ("forge", 3, "fu", None, ["１", "٣"]),
    ("forge", 0, "cx", None, ["١", "-1"]),
]

MANAGER_BECOMES_SHOPPER: list[Action] = [
    ("press", 2, "progress", 0),
    ("press", 2, "progress", 0),
    ("command", 2, "start", None),
    ("location", 2, -6.5995537729937245e-25, -51.00516135705675),
    ("press", 2, "progress", 31),
    ("location", 2, 28.233731900763246, 102.09672117313966),
    ("press", 2, "foreign", 14),
    ("command", 2, "start", None),
    (
        "text",
        2,
        "\U0001ba1dIºCpÿ\x81xfúÃ\U0005aff8",
    ),
    ("hurry", 2, 15, 12),
    ("text", 2, "Ä"),
    ("wait", 2172),
    ("hurry", 2, 32, 20),
    ("press", 2, "progress", 33),
    ("raw", 2, ""),
    ("raw", 0, ""),
    ("press", 0, "progress", 0),
    ("press", 0, "progress", 16),
    ("photo", 0, 0),
    ("press", 0, "progress", 12),
    ("command", 0, "help", None),
    ("press", 0, "progress", 0),
    ("press", 0, "progress", 0),
    ("text", 0, ""),
    ("command", 0, "start", None),
    ("press", 0, "progress", 0),
    ("press", 0, "progress", 11),
    ("command", 0, "start", None),
    ("text", 0, "<marker>"),
    ("raw", 0, ""),
    ("raw", 5, "fu:²:1"),
    ("location", 5, -48.58051154911601, 0.87),
    ("command", 4, "report", None),
    ("command", 4, "visit", "᚛ᚄᚓᚐᚋᚒᚄ\u1680ᚑᚄᚂᚑᚏᚅ᚜"),
    ("wait", 1900),
    ("press", 0, "stale", 27),
    ("hurry", 0, 29, 22),
    ("text", 0, "yes"),
    ("hurry", 0, 29, 22),
    ("press", 0, "stale", 15),
    ("command", 4, "start", "<invite1>"),
    ("press", 4, "stale", 2),
    ("location", 4, 1.0113443621992104, 142.71382980622388),
]
"""Found by the fuzzing: cards of a manager who later takes a shopper's invitation."""


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=sequences(bursts=8, burst=15))
@example(actions=FINISH_A_VISIT)
@example(actions=DESCRIBE_AND_FINISH)
@example(actions=OTHER_DIGITS)
@example(actions=MANAGER_BECOMES_SHOPPER)
def test_random_input_from_several_people_breaks_no_invariant(
    deployment: Deployment, actions: list[Action]
) -> None:
    deployment.reset()
    run = Run(deployment, before=snapshot(deployment.database))
    for action in actions:
        run.step(action)
    check_database(deployment.database)
    check_drafts_resume(deployment.database, run.service)
    check_database(deployment.database)
    with deployment.database.read() as session:  # what the examples reached, for statistics
        for status in session.scalars(select(Visit.status).distinct()).all():
            event(f"a visit ended up {status}")


# Regressions the fuzzing found, spelled out


def test_callback_data_with_numbers_too_large_for_the_database_is_refused(
    deployment: Deployment,
) -> None:
    deployment.reset()
    service = deployment.service()
    who = TelegramIdentity(501, "E", language="en")
    for data in [f"s:{2**63}", f"ans:{2**40}:0:1", f"em:1:1:{10**30}", f"st:{2**31}"]:
        outcome = service.callback(who, data)
        assert outcome.toast == "This button is not valid.", data


def test_back_cannot_skip_describing_the_employee(deployment: Deployment) -> None:
    deployment.reset()
    service = deployment.service()
    who = TelegramIdentity(501, "E", language="en")
    version = deployment.world.versions["store_visit"]
    service.callback(who, f"em:{deployment.world.store_id}:{version}:0")
    with deployment.database.read() as session:
        visit = session.scalars(select(Visit)).one()
    outcome = service.callback(who, f"back:{visit.id}:-1")
    assert outcome.toast is not None and "out of date" in outcome.toast
    assert outcome.edit is not None and "Describe them" in outcome.edit.text
    service.callback(who, f"cx:{visit.id}:-1")
    service.callback(who, f"back:{visit.id}:-1")  # nor the cancel question
    with deployment.database.read() as session:
        again = session.get(Visit, visit.id)
        assert again is not None
        assert again.awaiting == "cancel" and again.current_item is None


def test_nul_characters_and_odd_codes_are_harmless(deployment: Deployment) -> None:
    deployment.reset()
    service = deployment.service()
    stranger = TelegramIdentity(700, "S", language="en")
    outcome = service.start(stranger, "a\x00b")
    assert [r.text for r in outcome.send] == [Translator("en")("start.refused_unknown")]
    who = TelegramIdentity(501, "E", language="en")
    version = deployment.world.versions["store_visit"]
    service.callback(who, f"em:{deployment.world.store_id}:{version}:0")
    service.text(who, "tall\x00 man")
    with deployment.database.read() as session:
        assert session.scalars(select(Visit)).one().employee_description == "tall man"


def test_a_report_for_a_week_too_long_ago_is_refused(deployment: Deployment) -> None:
    deployment.reset()
    manager = TelegramIdentity(601, "M", language="en")
    outcome = deployment.service().report(manager, "0001-W01")
    assert outcome.report is None
    assert "I don't understand the week" in outcome.send[0].text


def test_a_rejected_visit_never_gives_its_shopper_a_second_draft(deployment: Deployment) -> None:
    deployment.reset()
    # default rules: a visit this fast is flagged
    run = Run(deployment, before=snapshot(deployment.database))
    for action in [*FINISH_A_VISIT, *[("press", 0, "progress", 0)] * 3]:
        run.step(action)  # one visit submitted (and flagged), the next one started
    [flagged] = [
        vid for vid, (_, state) in run.before.visits.items() if status_of(state) == "submitted"
    ]
    admin = TelegramIdentity(ADMIN, "A", language="en")
    run.service.callback(admin, f"rv:r:{flagged}")
    run.service.text(admin, "the photos are of another store")
    check_database(deployment.database)  # at most one draft per shopper


# Forged callback data: other scripts' digits, signs, spaces, too long

BAD_BUTTON = Translator("en")("error.bad_button")


@given(op=st.sampled_from(list(Op)), data=st.data())
def test_every_button_the_bot_makes_reads_back_as_made(op: Op, data: st.DataObject) -> None:
    fields = tuple(
        data.draw(st.integers(-MAX_NUMBER, MAX_NUMBER) if kind is int else st.sampled_from("arvn"))
        for kind in callbacks.OPS[op].fields
    )
    encoded = callbacks.encode(op, *fields)
    assert len(encoded.encode()) <= callbacks.MAX_BYTES
    assert callbacks.decode(encoded) == callbacks.Pressed(op, fields)


class _Numbered(int, Enum):
    ONE = 1


class _Shown(str):
    def __str__(self) -> str:
        return "zz"


@pytest.mark.parametrize(
    ("op", "fields"),
    [
        (Op.DECIDE, ("A", 1)),  # a word read back only in lower case
        (Op.DECIDE, ("1", 1)),  # digits read back as a number
        (Op.DECIDE, ("a:b", 1)),  # a separator inside a field
        (Op.DECIDE, ("é", 1)),  # not ASCII
        (Op.DECIDE, ("a" * 70, 1)),  # over Telegram's 64 bytes
        (Op.STORE, (MAX_NUMBER + 1,)),  # a number the database would refuse
        (Op.STORE, (True,)),  # a flag is not a number
        (Op.STORE, (1, 2)),  # not the operation's shape
        (Op.STORE, (_Numbered.ONE,)),  # a number written as its name
        (Op.LANGUAGE, (_Shown("ab"),)),  # a word written as another
    ],
)
def test_a_button_that_would_not_read_back_as_made_is_never_made(
    op: Op, fields: tuple[object, ...]
) -> None:
    with pytest.raises(ValueError):
        callbacks.encode(op, *fields)  # type: ignore[arg-type]


@given(data=st.one_of(RAW_CALLBACKS, st.text(), st.text(max_size=200)))
def test_callback_data_is_read_only_in_ascii_within_telegrams_limit(data: str) -> None:
    pressed = callbacks.decode(data)  # never raises, whatever the client sent
    if pressed is not None:
        assert data.isascii() and len(data.encode()) <= callbacks.MAX_BYTES
        assert all(abs(f) <= MAX_NUMBER for f in pressed.fields if isinstance(f, int))
        assert len(pressed.fields) == len(callbacks.OPS[pressed.op].fields), "its op's shape"


def test_review_buttons_with_unicode_digits_are_refused_and_change_nothing(
    deployment: Deployment,
) -> None:
    deployment.reset()
    owner = person_with_stores(deployment.database, 501).id
    flagged = submitted_visit(deployment.world, owner, deployment.world.anna_id, {}, START)
    with deployment.database.write() as session:
        visit = session.get(Visit, flagged)
        assert visit is not None
        visit.review_status = ReviewStatus.PENDING
    service = deployment.service()
    admin = TelegramIdentity(ADMIN, "A", language="en")
    before = deployment.everything()
    forged = [f"rv:{op}:{text}" for op in "arvn" for text in [*lookalikes(flagged), "²"]]
    for data in [*forged, f"rv:{'a' * 60}:{flagged}", f"rv:a:{flagged}:"]:
        outcome = service.callback(admin, data)
        assert (outcome.toast, outcome.edit, outcome.send) == (BAD_BUTTON, None, []), data
        assert deployment.everything() == before, data
    assert service.callback(admin, f"rv:a:{flagged}").toast != BAD_BUTTON


def test_followup_buttons_with_unicode_digits_are_refused_and_change_nothing(
    deployment: Deployment,
) -> None:
    deployment.reset()
    owner = person_with_stores(deployment.database, 501).id
    answers = {"greet_time": A(20), "greeted": A("yes"), "smiled": A("no"), "nps": A(10)}
    failed = submitted_visit(deployment.world, owner, deployment.world.anna_id, answers, START)
    with deployment.database.read() as session:
        visit = session.get(Visit, failed)
        assert visit is not None
        smiled = [item.id for item in definition(visit.checklist_version).items].index("smiled")
    service = deployment.service()
    manager = TelegramIdentity(601, "M", language="en")
    before = deployment.everything()
    forged = [f"fu:{text}:{smiled}" for text in [*lookalikes(failed), "²"]]
    forged += [f"fu:{failed}:{text}" for text in [*lookalikes(smiled), "²"]]
    forged += [f"fu:{failed}:{smiled}:0", f"fu:{failed}", "fu:²:1"]
    for data in forged:
        outcome = service.callback(manager, data)
        assert (outcome.toast, outcome.edit, outcome.send) == (BAD_BUTTON, None, []), data
        assert deployment.everything() == before, data
    assert service.callback(manager, f"fu:{failed}:{smiled}").toast is None


def test_picker_buttons_with_unicode_digits_or_loose_numbers_are_refused_and_change_nothing(
    deployment: Deployment,
) -> None:
    """``em:١:1:0`` is not store 1: ``int()`` reads other scripts' digits, a button never."""
    deployment.reset()
    service = deployment.service()
    who = TelegramIdentity(501, "E", language="en")
    store, version = deployment.world.store_id, deployment.world.versions["store_visit"]
    before = deployment.everything()
    forged = [f"em:{text}:{version}:0" for text in lookalikes(store)]
    forged += [f"em:{store}:{text}:0" for text in lookalikes(version)]
    forged += [f"em:{store}:{version}:{text}" for text in lookalikes(0)]
    forged += [f"s:{text}" for text in lookalikes(store)]
    forged += [f"em:{store}:{version}:" + "0" * 60]  # 0, but longer than Telegram allows
    forged += [f"em:{store}:{version}:0:", f"em:{store}:{version}::0", f"ém:{store}:{version}:0"]
    for data in forged:
        outcome = service.callback(who, data)
        assert outcome.toast == BAD_BUTTON, data
        assert outcome.edit is None, data
        assert deployment.everything() == before, data
    outcome = service.callback(who, f"em:{store}:{version}:0")
    assert outcome.toast is None and outcome.edit is not None


def test_visit_buttons_with_unicode_digits_are_refused_and_change_nothing(
    deployment: Deployment,
) -> None:
    deployment.reset()
    service = deployment.service()
    who = TelegramIdentity(501, "E", language="en")
    version = deployment.world.versions["store_visit"]
    service.callback(who, f"em:{deployment.world.store_id}:{version}:0")
    service.text(who, "tall man")
    with deployment.database.read() as session:
        visit_id = session.scalars(select(Visit.id)).one()
    before = deployment.everything()
    forged = [f"cx:{text}:-1" for text in lookalikes(visit_id)]
    forged += [f"cx:{visit_id}:{text}" for text in lookalikes(-1)]
    forged += [f"cx:{visit_id}:−1", f"cx:{visit_id}:-1:", f"cx:{visit_id}:-1 :0"]  # U+2212
    for data in forged:
        outcome = service.callback(who, data)
        assert outcome.toast == BAD_BUTTON, data
        assert deployment.everything() == before, data
    assert service.callback(who, f"cx:{visit_id}:-1").toast is None


# Through the real bot


class BotRun:
    def __init__(self, deployment: Deployment, api: FakeBotApi) -> None:
        self.deployment = deployment
        self.api = api
        self.users = {
            s.telegram_id: api.user(s.telegram_id, f"Real Name {s.telegram_id}", language_code="en")
            for s in PEOPLE
        }

    def buttons(self, user: FakeUser) -> list[tuple[int, str]]:
        return [
            (m.message_id, data)
            for m in user.messages()
            for row in m.buttons
            for _, data in row
            if data is not None
        ]

    async def step(self, action: Action) -> None:
        if action[0] == "wait":
            return  # the real bot keeps real time
        if action[0] == "hurry":
            _, user, pick, times = action
            assert isinstance(pick, int) and isinstance(times, int)
            for n in range(times):
                await self.step(("press", user, "progress", pick + n))
            return
        assert isinstance(action[1], int)
        tid = PEOPLE[action[1]].telegram_id
        user = self.users[tid]
        database = self.deployment.database
        before = snapshot(database)
        reaction, pressed = None, action[0] in ("press", "forge", "raw")
        data: str | None = None
        match action:
            case ("text", _, str(text)):
                text = marker(tid) if text == MARKER else text
                reaction = await user.send_text(text if text.strip() else ".")
            case ("command", _, str(name), arg):
                assert arg is None or isinstance(arg, str)
                if arg in INVITATIONS:
                    arg = self.deployment.invitations[INVITATIONS.index(arg)]
                reaction = await user.send_command(name, *([arg.strip()] if arg else []))
            case ("press", _, "stale", int(pick)):
                stale = self.buttons(user)
                if stale:
                    message_id, data = stale[pick % len(stale)]
                    reaction = await user.press_raw(data, message_id=message_id)
            case ("press", _, "foreign", int(pick)):
                foreign = [b for u in self.users.values() if u is not user for b in self.buttons(u)]
                data = foreign[pick % len(foreign)][1] if foreign else None
            case ("press", _, str(mode), int(pick)):
                newest = [m for m in user.messages() if m.inline_keyboard]
                if newest:
                    keyboard = [d for row in newest[-1].buttons for _, d in row if d is not None]
                    data = choose(keyboard, mode, pick)
            case ("forge", _, str(op), visit_pick, list(fields)):
                assert visit_pick is None or isinstance(visit_pick, int)
                known = sorted(before.visits)
                if visit_pick is not None and known:
                    fields = [known[visit_pick % len(known)], *fields]
                data = ":".join([op, *map(str, fields)]) or "x"
            case ("raw", _, str(raw)):
                data = raw.encode()[:64].decode(errors="ignore") or "x"
            case ("photo", _, int(n)):
                reaction = await user.send_photo(file_id=f"file-{n}", file_unique_id=f"u-{n}")
            case ("location", _, float(latitude), float(longitude)):
                reaction = await user.send_location(latitude, longitude)
        if reaction is None and data is not None and user.messages():
            reaction = await user.press_raw(data)  # on the newest message with buttons
        if reaction is None:
            return
        after = snapshot(database)
        check_changes(before, after, tid)
        internal = {Translator(language)("error.internal") for language in LANGUAGES}
        assert not internal & set(reaction.texts), f"the bot failed on {action!r}"
        if tid not in before.people | after.people:  # a stranger: the polite refusal only
            assert set(reaction.methods) <= {"sendMessage", "answerCallbackQuery"}
            texts = list(reaction.texts)
            if pressed:
                texts += [a.text for a in user.answers_to_callbacks[-1:] if a.text]
            assert texts and set(texts) <= refusals(), texts


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=sequences(through_the_bot=True, bursts=3, burst=6))
@example(actions=DESCRIBE_AND_FINISH[:-1])
async def test_random_input_through_the_real_bot_breaks_no_invariant(
    deployment: Deployment, caplog: pytest.LogCaptureFixture, actions: list[Action]
) -> None:
    deployment.reset()
    caplog.clear()
    async with FakeBotApi() as api:
        running = RunningBot(api, deployment.world)
        await running.start()
        try:
            run = BotRun(deployment, api)
            for action in actions:
                await run.step(action)
        finally:
            await running.stop()
        api.assert_no_unknown_methods()
        internal = {Translator(language)("error.internal") for language in LANGUAGES}
        assert not [c for c in api.calls("sendMessage") if c.params.get("text") in internal]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    check_database(deployment.database)
    check_drafts_resume(deployment.database, deployment.service())
