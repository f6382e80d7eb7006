"""Running the real bot (python-telegram-bot ``Application``) against the fake Bot API server."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram.ext import Application, TypeHandler

from bot import bootstrap
from bot.outbox import MessageLedgers
from checklists.loader import SHIPPED_DIR, load_all
from checklists.scoring import Answer as ScoringAnswer
from storage import checklist_versions, demo, visits
from storage.db import Database
from storage.models import Answer, ChecklistVersion, Employee, Role, Store, Visit
from storage.people import TelegramIdentity, create_invitation, register_person, stores_by_code
from testkit.fakebotapi import FakeBotApi
from visits.clock import Clock
from visits.integrity import IntegrityRules

TOKEN = "123456:TEST-token"
SCRIPTED_RULES = IntegrityRules(min_seconds_per_item=0)
"""Scripted shoppers answer in milliseconds; the speed check has its own tests."""
ZONE = ZoneInfo("Europe/Moscow")
STORE_VISIT_ALL_MET = (
    *("Yes",) * 5,  # greeted, smiled, named_self, listened, needs_questions
    "Asked what it is for",
    "Asked about preferences",
    "Asked about the budget",
    "✅ Done",  # discovery
    "Yes",  # offer_made
    "5",  # three_yes
    *("Yes",) * 3,  # best_solution, no_bare_no, extra_mile
    "5",  # service_rating
    "Clean and tidy",  # tidiness
    "Yes",  # farewell
    "10",  # nps
)
"""The buttons an English-speaking shopper presses after greet_time to meet every standard
of the shipped store visit; the optional photo and comment are left for the script."""


@dataclass
class World:
    """A small deployment: one store with two employees, the shipped checklists."""

    database: Database
    versions: dict[str, int]
    store_id: int
    anna_id: int


def make_world(database: Database) -> World:
    with database.write() as session:
        current = checklist_versions.register(session, load_all([SHIPPED_DIR]))
        store = Store(code="S1", name="Tverskaya", latitude=55.76, longitude=37.61)
        far = Store(code="S2", name="Arbat", latitude=55.75, longitude=37.59)
        session.add_all([store, far])
        session.flush()
        anna = Employee(code="E1", name="Anna Ivanova", position="Seller", store_id=store.id)
        session.add_all([anna, Employee(code="E2", name="Oleg", store_id=store.id)])
        session.flush()
        return World(database, {k: v.id for k, v in current.items()}, store.id, anna.id)


def invite(database: Database, role: Role, stores: list[str] | None = None) -> str:
    with database.write() as session:
        return create_invitation(session, role, stores).code


def process_environment(data_dir: Path, bot_api_url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``python -m bot run`` process: this one's, with test settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSBOT_")}
    env.update(
        MSBOT_BOT_TOKEN=TOKEN,
        MSBOT_DATA_DIR=str(data_dir),
        MSBOT_BOT_API_URL=bot_api_url,
        MSBOT_LANGUAGE="en",
        **extra,
    )
    return env


class RunningBot:
    """Start and stop the bot like a process would, on the same database."""

    def __init__(
        self,
        api: FakeBotApi,
        world: World,
        language: str = "en",
        export_dir: Path | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
        employee_names: bool = True,
    ) -> None:
        self.api = api
        self.clock = clock or Clock(ZONE)
        self.employee_names = employee_names
        self.world = world
        self.language = language
        self.timeout = timeout
        self.export_dir = export_dir or Path(tempfile.mkdtemp(prefix="msbot-exports-"))
        self.application: Application | None = None  # type: ignore[type-arg]

    def deployment(self) -> bootstrap.Deployment:
        """The bot as ``msbot run`` assembles it, on this world's database and the fake."""
        return bootstrap.Deployment(
            database=self.world.database,
            token=TOKEN,
            bot_api_url=self.api.base_url,
            language=self.language,
            clock=self.clock,
            checklist_versions=self.world.versions,
            export_dir=self.export_dir,
            schedule="mon 09:00",
            admins=frozenset({999}),
            rules=SCRIPTED_RULES,
            timeout=self.timeout,
            employee_names=self.employee_names,
        )

    async def start(self) -> None:
        deployment = self.deployment()
        self.reports = bootstrap.report_service(deployment)
        self.service = bootstrap.service(deployment)
        self.outbox = MessageLedgers(self.service)
        """A card and notice worker beside the bot's own, on one database: a second process."""
        self.application = bootstrap.application(deployment)
        self._track_handling(self.application)
        await self.application.initialize()
        await self.application.start()
        assert self.application.updater is not None
        await self.application.updater.start_polling(poll_interval=0, timeout=1)

    def _track_handling(self, application: Application) -> None:  # type: ignore[type-arg]
        """Tell the fake Bot API while an update is being handled: a handler in the first
        group and one in the last, around the bot's own (which run one update at a time)."""
        handling: set[int] = set()

        async def began(update: object, _: object) -> None:
            handling.add(id(update))

        async def ended(update: object, _: object) -> None:
            handling.discard(id(update))

        application.add_handler(TypeHandler(object, began), group=-(10**6))
        application.add_handler(TypeHandler(object, ended), group=10**6)
        self.api.handling = lambda: bool(handling)

    async def stop(self) -> None:
        application = self.application
        if application is None:
            return
        assert application.updater is not None
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        self.application = None


async def start_msbot_run(
    cwd: Path, env: dict[str, str], *options: str, captured: bool = True
) -> asyncio.subprocess.Process:
    """``msbot run`` as a real process; its stdout and stderr together in ``stdout`` when
    ``captured``, else dropped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        *options,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE if captured else asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.STDOUT if captured else asyncio.subprocess.DEVNULL,
    )


def demo_visits(
    database: Database, *, stores: int, visits: int, weeks: int, seed: int, until: date
) -> None:
    """Visits as ``msbot demo-data`` makes them on the shipped checklists, in the ``weeks``
    before ``until``."""
    loaded = load_all([SHIPPED_DIR])
    with database.write() as session:
        checklist_versions.register(session, loaded)
        demo.generate(
            session,
            [item.checklist for item in loaded],
            stores=stores,
            visits=visits,
            weeks=weeks,
            seed=seed,
            zone=ZONE,
            until=until,
        )


def add_person(
    database: Database,
    telegram_id: int,
    role: Role,
    stores: list[str] | None = None,
    language: str | None = None,
) -> int:
    """A registered person, as if they had opened their invitation link; ``language``: the
    one they chose with /language (none: the deployment's)."""
    with database.write() as session:
        who = TelegramIdentity(telegram_id=telegram_id, name=f"P{telegram_id}")
        person = register_person(session, who, role, stores_by_code(session, stores or []))
        person.language = language
        return person.id


def submitted_visit(
    world: World,
    evaluator_id: int,
    employee_id: int | None,
    answers: dict[str, ScoringAnswer],
    submitted_at: datetime,
    checklist: str = "store_visit",
) -> int:
    """A visit answered and submitted at ``submitted_at``, scored by the product's own code."""
    with world.database.write() as session:
        version = session.get(ChecklistVersion, world.versions[checklist])
        assert version is not None
        visit = Visit(
            store_id=world.store_id,
            evaluator_id=evaluator_id,
            employee_id=employee_id,
            checklist_version_id=version.id,
            employee_description=None if employee_id else "unknown person",
            started_at=submitted_at - timedelta(minutes=20),
        )
        session.add(visit)
        session.flush()
        definition = checklist_versions.definition(version)
        for item_id, value in answers.items():
            row = Answer(visit_id=visit.id, item_id=item_id)
            visits.set_answer_value(row, definition, value)
            session.add(row)
        session.flush()
        session.refresh(visit)
        visits.submit(session, visit.id, now=submitted_at)
        return visit.id
