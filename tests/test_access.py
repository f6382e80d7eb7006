"""Who may do what: every command and button, as each role and as a stranger.

Every handler checks the person's role and stores against the database, whatever the update
says: visits are for shoppers (evaluators) and admins, ``/report`` for managers, HR and
admins within their own scope (a manager never gets another store), ``/resend``, ``/review``
and ``/overdue`` for admins only, ``/followup`` for managers on their own stores only; buttons
of another person's visit are refused and change nothing; a stranger gets the polite refusal
and nothing else. The tables below drive the application (``bot.service.Service``) directly:
the calls the Telegram handlers make, routed by the application as it routes them for the
bot; the last tests send the same through the real bot.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot import callbacks
from bot.callbacks import Route
from bot.i18n import catalogue
from bot.service import Service
from bot.service.account import ROLE_COMMANDS
from bot.service.base import Setting
from bot.service.outcome import Outcome
from checklists.scoring import Answer as A
from exports.report_data import Scope, ScopeKind
from exports.weeks import Week
from storage.db import Database
from storage.models import Answer, Person, Photo, Role, Store, Visit, VisitStatus
from storage.people import TelegramIdentity
from testkit.bot_harness import ZONE, RunningBot, World, add_person, make_world, submitted_visit
from testkit.fakebotapi import FakeBotApi
from testkit.workbooks import store_codes_in
from visits.clock import Clock

ROLES = ("admin", "evaluator", "manager", "hr", "stranger")
TELEGRAM_IDS = {"admin": 901, "evaluator": 502, "manager": 601, "hr": 603, "stranger": 700}
OWNER = 501  # the shopper whose visits everyone else tries to touch
OTHER_MANAGER = 602  # manages S2 only
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # the last complete week is 2026-W47
WEEK = Week(2026, 47)
SUBMITTED_AT = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def said(text: str, key: str) -> bool:
    """Whether ``text`` is the English message ``key``, whatever fills its placeholders
    (HTML tags are ignored: the fake Bot API shows text as Telegram renders it). ``/help``
    is its role's message followed by every command of the role, each on its line."""
    if key.startswith("help."):
        intro, _, commands = text.partition("\n\n")
        role = Role(key.removeprefix("help."))
        listed = [line.split(" — ")[0] for line in commands.splitlines()]
        return _is(intro, key) and listed == [f"/{name}" for name in ROLE_COMMANDS[role]]
    return _is(text, key)


def _is(text: str, key: str) -> bool:
    template = re.sub(r"<[^>]+>", "", catalogue("en")[key])
    pattern = ".*?".join(re.escape(part) for part in re.split(r"\{[a-z_]+\}", template))
    return re.fullmatch(pattern, re.sub(r"<[^>]+>", "", text), re.DOTALL) is not None


@dataclass
class Deployment:
    world: World
    service: Service
    draft: int
    """The owner's open visit, now asking its second item (``greeted``, index 1)."""
    finished: int
    """The owner's submitted visit at S1, which failed the ``smiled`` standard."""
    elsewhere: int
    """The same at S2."""

    @property
    def database(self) -> Database:
        return self.world.database


def who(telegram_id: int) -> TelegramIdentity:
    return TelegramIdentity(telegram_id, f"Name {telegram_id}", language="en")


@pytest.fixture
def deployment(database: Database) -> Deployment:
    world = make_world(database)
    owner = add_person(database, OWNER, Role.EVALUATOR, ["S1"])
    add_person(database, TELEGRAM_IDS["evaluator"], Role.EVALUATOR, ["S1"])
    add_person(database, TELEGRAM_IDS["admin"], Role.ADMIN)
    add_person(database, TELEGRAM_IDS["manager"], Role.MANAGER, ["S1"])
    add_person(database, OTHER_MANAGER, Role.MANAGER, ["S2"])
    add_person(database, TELEGRAM_IDS["hr"], Role.HR)
    with database.read() as session:
        s2 = session.scalars(select(Store.id).where(Store.code == "S2")).one()
    answers = {"greet_time": A(20), "greeted": A("yes"), "smiled": A("no"), "nps": A(10)}
    finished = submitted_visit(world, owner, world.anna_id, answers, SUBMITTED_AT)
    elsewhere = submitted_visit(replace(world, store_id=s2), owner, None, answers, SUBMITTED_AT)
    service = Service(
        Setting(
            database=database,
            default_language="en",
            clock=Clock.fixed(NOW, ZONE),
            checklist_versions=world.versions,
        )
    )
    version = world.versions["store_visit"]
    service.callback(who(OWNER), f"em:{world.store_id}:{version}:{world.anna_id}")
    service.text(who(OWNER), "10")
    with database.read() as session:
        draft = session.scalars(
            select(Visit.id).where(Visit.status == VisitStatus.DRAFT, Visit.evaluator_id == owner)
        ).one()
    return Deployment(world, service, draft, finished, elsewhere)


def state(database: Database) -> list[tuple[object, ...]]:
    """Every visit, answer and photo as stored."""
    with database.read() as session:
        return [
            *[
                (v.id, v.evaluator_id, v.status, v.current_item, v.awaiting, v.timer_item)
                for v in session.scalars(select(Visit).order_by(Visit.id))
            ],
            *[
                (a.visit_id, a.item_id, a.value_text, a.value_number, a.na, a.comment)
                for a in session.scalars(select(Answer).order_by(Answer.id))
            ],
            *[(p.visit_id, p.file_id) for p in session.scalars(select(Photo).order_by(Photo.id))],
        ]


def visits_of(database: Database, telegram_id: int) -> list[Visit]:
    with database.read() as session:
        return list(
            session.scalars(
                select(Visit)
                .join(Person, Visit.evaluator_id == Person.id)
                .where(Person.telegram_id == telegram_id)
            )
        )


def texts(outcome: Outcome) -> list[str]:
    replies = [r for r in [outcome.edit, *outcome.send] if r is not None]
    return ([outcome.toast] if outcome.toast else []) + [r.text for r in replies]


VISIT_OPS = {op.value for op, spec in callbacks.OPS.items() if spec.route == Route.VISIT}


def visit_buttons(outcome: Outcome, ops: set[str] = VISIT_OPS) -> set[int]:
    """Ids of the visits the outcome's buttons act on (a shopper's, or ``fu`` follow-ups)."""
    found = set()
    for reply in [outcome.edit, *outcome.send]:
        for row in reply.buttons if reply else ():
            for _, data in row:
                op, *numbers = data.split(":")
                if op in ops:
                    found.add(int(numbers[0]))
    return found


# Commands, typed text, photos and locations

STRANGER = "start.stranger"
NOT_FOR_ROLE = "visit.not_for_role"  # visits are for shoppers and admins
ADMINS_ONLY = "report.admins_only"
BUILDING = "report.building"  # a workbook follows, of the person's own scope
NOT_ALLOWED = "report.not_allowed"
NO_DRAFT = "visit.nothing_to_resume"
NO_CANCEL = "visit.nothing_to_cancel"
NO_VISIT = "visit.use_buttons_or_visit"
NO_QUESTION = "visit.file_without_visit"
NEAREST = "pick.nearest"
WELCOME = "start.welcome_{role}"  # each role's own welcome and help
HELP = "help.{role}"
OPS_ADMINS = "ops.admins_only"
MANAGERS = "ops.managers_only"
NO_REVIEW = "ops.nothing_to_review"
NO_OVERDUE = "ops.nothing_overdue"
FAILED = "ops.pick_failed"

Call = Callable[[Deployment, TelegramIdentity], Outcome]
CALLS: dict[str, Call] = {
    "/start": lambda d, w: d.service.start(w, None),
    "/help": lambda d, w: d.service.help(w),
    "/visit": lambda d, w: d.service.new_visit(w),
    "/resume": lambda d, w: d.service.resume(w),
    "/cancel": lambda d, w: d.service.cancel(w),
    "/report": lambda d, w: d.service.report(w, None),
    "/report 2026-W46": lambda d, w: d.service.report(w, "2026-W46"),
    "/resend": lambda d, w: d.service.resend(w, None),
    "/resend 2026-W47": lambda d, w: d.service.resend(w, "2026-W47"),
    "/review": lambda d, w: d.service.review_queue(w),
    "/overdue": lambda d, w: d.service.overdue(w),
    "/followup": lambda d, w: d.service.followup(w),
    "text": lambda d, w: d.service.text(w, "12"),
    "photo": lambda d, w: d.service.photo(w, "file-1", "unique-1"),
    "location": lambda d, w: d.service.location(w, 55.75, 37.59),
}
# fmt: off
COMMAND_TABLE = [
    # what               admin                  evaluator     manager       hr            stranger
    ("/start",           WELCOME,               WELCOME,      WELCOME,      WELCOME,      STRANGER),
    ("/help",            HELP,                  HELP,         HELP,         HELP,         STRANGER),
    ("/visit",           "pick.store",          "pick.store", NOT_FOR_ROLE, NOT_FOR_ROLE, STRANGER),
    ("/resume",          NO_DRAFT,              NO_DRAFT,     NOT_FOR_ROLE, NOT_FOR_ROLE, STRANGER),
    ("/cancel",          NO_CANCEL,             NO_CANCEL,    NOT_FOR_ROLE, NOT_FOR_ROLE, STRANGER),
    ("/report",          BUILDING,              NOT_ALLOWED,  BUILDING,     BUILDING,     STRANGER),
    ("/report 2026-W46", BUILDING,              NOT_ALLOWED,  BUILDING,     BUILDING,     STRANGER),
    ("/resend",          "report.resend_usage", ADMINS_ONLY,  ADMINS_ONLY,  ADMINS_ONLY,  STRANGER),
    ("/resend 2026-W47", "report.resent",       ADMINS_ONLY,  ADMINS_ONLY,  ADMINS_ONLY,  STRANGER),
    ("/review",          NO_REVIEW,             OPS_ADMINS,   OPS_ADMINS,   OPS_ADMINS,   STRANGER),
    ("/overdue",         NO_OVERDUE,            OPS_ADMINS,   OPS_ADMINS,   OPS_ADMINS,   STRANGER),
    ("/followup",        MANAGERS,              MANAGERS,     FAILED,       MANAGERS,     STRANGER),
    ("text",             NO_VISIT,              NO_VISIT,     NOT_FOR_ROLE, NOT_FOR_ROLE, STRANGER),
    ("photo",            NO_QUESTION,           NO_QUESTION,  NOT_FOR_ROLE, NOT_FOR_ROLE, STRANGER),
    ("location",         NEAREST,               NEAREST,      NOT_FOR_ROLE, NOT_FOR_ROLE, STRANGER),
]
# fmt: on
SCOPES = {
    "admin": Scope(ScopeKind.ALL),
    "manager": Scope(ScopeKind.STORES, frozenset({"S1"})),
    "hr": Scope(ScopeKind.HR),
}


def table_for(role: str, table: list[tuple[str, ...]]) -> list[tuple[str, str]]:
    """``(what, expected)`` for one role's column of a table."""
    column = ROLES.index(role) + 1
    return [(row[0], row[column].format(role=role)) for row in table]


def each_row(role: str, rows: list[tuple[str, str]], check: Callable[[str, str], None]) -> None:
    """Check every row and report every wrong one at once."""
    wrong = []
    for what, expected in rows:
        try:
            check(what, expected)
        except AssertionError as error:
            wrong.append(f"{what} (expected {expected}): {error}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_each_command_as_each_role(deployment: Deployment, role: str) -> None:
    def check(what: str, expected: str) -> None:
        before = state(deployment.database)
        outcome = CALLS[what](deployment, who(TELEGRAM_IDS[role]))
        [message] = outcome.send
        assert said(message.text, expected), message.text
        assert outcome.edit is None
        assert visit_buttons(outcome) == set(), "no visit of anyone is offered"
        follow_ups = visit_buttons(outcome, {"fu"})
        assert follow_ups == ({deployment.finished} if expected == FAILED else set()), (
            "a manager follows up only their own stores' visits"
        )
        assert state(deployment.database) == before, "no visit changes"
        if outcome.report is not None:
            assert outcome.report.scope == SCOPES[role], "only the person's own scope"
            assert outcome.report.week == (Week(2026, 46) if what.endswith("W46") else WEEK)
        else:
            assert expected != BUILDING
        assert outcome.deliver_now == (expected == "report.resent")
        if role == "stranger":
            assert not message.buttons and not message.menu and outcome.role is None
        elif what in ("/start", "/help"):
            assert outcome.role == Role(role)
            assert message.menu == (role in ("admin", "evaluator")), "the menu for shoppers"

    each_row(role, table_for(role, COMMAND_TABLE), check)


def test_a_manager_asking_for_a_report_gets_only_their_own_stores(
    deployment: Deployment,
) -> None:
    service = deployment.service
    for telegram_id, codes in [(TELEGRAM_IDS["manager"], {"S1"}), (OTHER_MANAGER, {"S2"})]:
        outcome = service.report(who(telegram_id), "2026-W47")
        assert outcome.report is not None
        assert outcome.report.scope == Scope(ScopeKind.STORES, frozenset(codes))
    with deployment.database.write() as session:  # a manager with no store left
        person = session.scalars(select(Person).where(Person.telegram_id == OTHER_MANAGER)).one()
        person.stores = []
    outcome = service.report(who(OTHER_MANAGER), None)
    assert outcome.report is None and said(outcome.send[0].text, "report.not_allowed")


def test_a_deactivated_person_is_a_stranger_again(deployment: Deployment) -> None:
    with deployment.database.write() as session:
        for person in session.scalars(select(Person)):
            person.active = False
    before = state(deployment.database)
    for what, call in CALLS.items():
        outcome = call(deployment, who(OWNER))
        assert [m.text for m in outcome.send] == [catalogue("en")[STRANGER]], what
        assert outcome.report is None and not outcome.deliver_now
    outcome = deployment.service.callback(who(OWNER), f"ans:{deployment.draft}:1:1")
    assert outcome.toast == catalogue("en")[STRANGER] and not outcome.send
    assert state(deployment.database) == before


# Buttons

PICKER_BUTTONS = ["st:0", "s:{s1}", "cl:{s1}:{version}", "ep:{s1}:{version}:0"]
PICKER_BUTTONS += ["em:{s1}:{version}:{anna}", "em:{s1}:{version}:0"]
REFUSALS = {
    "admin": None,
    "evaluator": None,
    "manager": NOT_FOR_ROLE,
    "hr": NOT_FOR_ROLE,
    "stranger": STRANGER,
}


@pytest.mark.parametrize("role", ROLES)
def test_picker_buttons_as_each_role(deployment: Deployment, role: str) -> None:
    world = deployment.world
    telegram_id = TELEGRAM_IDS[role]

    def check(button: str, refusal: str) -> None:
        data = button.format(
            s1=world.store_id, version=world.versions["store_visit"], anna=world.anna_id
        )
        before = state(deployment.database)
        outcome = deployment.service.callback(who(telegram_id), data)
        if refusal == "allowed":  # shoppers choose a store, checklist and employee
            assert outcome.toast is None and outcome.edit is not None and outcome.edit.buttons
            drafts = [
                v.id
                for v in visits_of(deployment.database, telegram_id)
                if v.status == VisitStatus.DRAFT
            ]
            assert len(drafts) == (1 if data.startswith("em:") else 0)
            assert visit_buttons(outcome) == set(drafts)
            for op in ("cx", "cxy") if drafts else ():  # discard it, to try the next afresh
                deployment.service.callback(who(telegram_id), f"{op}:{drafts[0]}:-1")
        else:
            assert outcome.toast is not None and said(outcome.toast, refusal), outcome.toast
            assert outcome.alert and outcome.edit is None and outcome.send == []
            assert state(deployment.database) == before

    each_row(role, [(button, REFUSALS[role] or "allowed") for button in PICKER_BUTTONS], check)


def test_a_shopper_with_an_open_visit_cannot_start_another(deployment: Deployment) -> None:
    world = deployment.world
    version = world.versions["store_visit"]
    before = state(deployment.database)
    for button in PICKER_BUTTONS:
        data = button.format(s1=world.store_id, version=version, anna=world.anna_id)
        outcome = deployment.service.callback(who(OWNER), data)
        assert outcome.toast is not None and said(outcome.toast, "error.draft_open"), data
        assert visit_buttons(outcome) == {deployment.draft}, "their own question again"
    assert state(deployment.database) == before


def visit_buttons_of(deployment: Deployment) -> list[str]:
    """Every visit button, made out for the owner's open visit and the question it asks."""
    v = deployment.draft
    return [
        f"ans:{v}:1:1",
        f"ans:{v}:1:0",
        f"na:{v}:1",
        f"skip:{v}:1",
        f"back:{v}:1",
        f"back:{v}:-1",
        f"t0:{v}:0",
        f"t1:{v}:0",
        f"cmt:{v}:1",
        f"res:{v}:-1",
        f"cxn:{v}:-1",
        f"done:{v}:1",
        f"rev:{v}:1",
        f"edit:{v}:0",
        f"sub:{v}:-1",
        f"cx:{v}:-1",
        f"cxy:{v}:-1",
        f"ans:{deployment.finished}:1:0",  # the owner's submitted visit
        f"edit:{deployment.finished}:0",
        f"cx:{deployment.finished}:-1",
    ]


VISIT_REFUSALS = {**REFUSALS, "admin": "error.bad_button", "evaluator": "error.bad_button"}


@pytest.mark.parametrize("role", ROLES)
def test_buttons_of_another_persons_visit_are_refused_and_change_nothing(
    deployment: Deployment, role: str
) -> None:
    def check(data: str, refusal: str) -> None:
        before = state(deployment.database)
        outcome = deployment.service.callback(who(TELEGRAM_IDS[role]), data)
        assert outcome.toast is not None and outcome.alert
        assert said(outcome.toast, refusal), outcome.toast
        assert outcome.edit is None
        assert deployment.draft not in visit_buttons(outcome), "the owner's screen is shown"
        assert not any("Anna" in text for text in texts(outcome)), "the owner's visit is shown"
        assert state(deployment.database) == before, "changed"

    each_row(role, [(d, VISIT_REFUSALS[role]) for d in visit_buttons_of(deployment)], check)


# fmt: off
OPERATION_TABLE = [
    # button     admin              evaluator   manager             hr          stranger
    ("rv:a:{s1}", "ops.not_pending", OPS_ADMINS, OPS_ADMINS,         OPS_ADMINS, STRANGER),
    ("rv:v:{s1}", "ops.not_pending", OPS_ADMINS, OPS_ADMINS,         OPS_ADMINS, STRANGER),
    ("rv:n:0",    NO_REVIEW,         OPS_ADMINS, OPS_ADMINS,         OPS_ADMINS, STRANGER),
    ("fu:{s1}:2", MANAGERS,          MANAGERS,   "ops.type_action",  MANAGERS,   STRANGER),
    ("fu:{s2}:2", MANAGERS,          MANAGERS,   "error.bad_button", MANAGERS,   STRANGER),
]
# fmt: on


@pytest.mark.parametrize("role", ROLES)
def test_field_operation_buttons_as_each_role(deployment: Deployment, role: str) -> None:
    """Reviews are for admins; follow-ups for managers, on their own stores' visits only."""

    def check(button: str, expected: str) -> None:
        data = button.format(s1=deployment.finished, s2=deployment.elsewhere)
        before = state(deployment.database)
        outcome = deployment.service.callback(who(TELEGRAM_IDS[role]), data)
        shown = outcome.toast or (outcome.edit.text if outcome.edit else "")
        assert said(shown, expected), shown
        assert outcome.send == []
        assert state(deployment.database) == before

    each_row(role, table_for(role, OPERATION_TABLE), check)


def test_the_owner_may_press_their_own_buttons(deployment: Deployment) -> None:
    """The other side of the table above: the same data works for the visit's shopper."""
    outcome = deployment.service.callback(who(OWNER), f"ans:{deployment.draft}:1:1")
    assert outcome.toast is None and outcome.edit is not None
    assert visit_buttons(outcome) == {deployment.draft}
    [visit] = [v for v in visits_of(deployment.database, OWNER) if v.id == deployment.draft]
    assert visit.current_item == "smiled"


# Through the real bot


@pytest.fixture
async def bot(api: FakeBotApi, deployment: Deployment) -> AsyncIterator[RunningBot]:
    running = RunningBot(api, deployment.world)
    await running.start()
    yield running
    await running.stop()
    api.assert_no_unknown_methods()


BOT_COMMANDS = [
    row
    for row in COMMAND_TABLE
    # Workbooks have their own test below; follow-ups depend on the real clock's last 30 days.
    if not row[0].startswith(("/report", "/resend ", "/followup"))
]


@pytest.mark.parametrize("role", ROLES)
async def test_each_command_through_the_bot_as_each_role(
    api: FakeBotApi, bot: RunningBot, deployment: Deployment, role: str
) -> None:
    user = api.user(TELEGRAM_IDS[role], f"Name {TELEGRAM_IDS[role]}", language_code="en")
    for what, key in table_for(role, BOT_COMMANDS):
        match what:
            case "text":
                reaction = await user.send_text("12")
            case "photo":
                reaction = await user.send_photo(file_id="f1", file_unique_id="u1")
            case "location":
                reaction = await user.send_location(55.75, 37.59)
            case _:
                reaction = await user.send_command(*what.split())
        # Any of the texts: a scheduled workbook may arrive meanwhile.
        assert any(said(text, key) for text in reaction.texts), (what, reaction.texts, key)
        if role == "stranger":
            assert reaction.methods == ["sendMessage"], (what, reaction.methods)
    await user.press_raw(f"ans:{deployment.draft}:1:1")
    assert said(user.answers_to_callbacks[-1].text or "", VISIT_REFUSALS[role])
    if role == "stranger":
        assert user.reply_keyboard() is None
        assert not api.calls("setMyCommands", chat_id=TELEGRAM_IDS[role])
    assert [v.current_item for v in visits_of(deployment.database, OWNER)].count("greeted") == 1


@pytest.mark.parametrize(
    ("role", "codes"),
    [
        ("admin", {"S1", "S2"}),
        ("manager", {"S1"}),
        ("other manager", {"S2"}),
        ("hr", {"S1", "S2"}),
        ("evaluator", None),
        ("stranger", None),
    ],
)
async def test_report_through_the_bot_holds_only_the_persons_own_stores(
    api: FakeBotApi, bot: RunningBot, role: str, codes: set[str] | None
) -> None:
    telegram_id = OTHER_MANAGER if role == "other manager" else TELEGRAM_IDS[role]
    user = api.user(telegram_id, language_code="en")
    if codes is None:
        reaction = await user.send_command("/report", "2026-W47")
        assert reaction.methods == ["sendMessage"]
        refusal = "report.not_allowed" if role == "evaluator" else STRANGER
        assert said(reaction.texts[0], refusal)
        return
    reaction = await user.send_command(
        "/report", "2026-W47", timeout=20, until=lambda r: "sendDocument" in r.methods
    )
    documents = [c for c in reaction.calls if c.method == "sendDocument"]
    for call in documents:  # the one asked for (and any scheduled delivery meanwhile)
        assert store_codes_in(next(iter(call.files.values())).data) == codes
