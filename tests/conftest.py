"""Shared fixtures: a real, migrated database file per test (SQLite by default).

Set ``MSBOT_TEST_DATABASE_URL`` to a PostgreSQL server URL to run the suite there instead;
each test then gets a fresh database created on that server.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storage import migrate
from storage.db import Database
from testkit.bot_harness import RunningBot, World
from testkit.databases import fresh_postgres_url
from testkit.fakebotapi import FakeBotApi

POSTGRES_URL = os.environ.get("MSBOT_TEST_DATABASE_URL", "")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On PostgreSQL, only the tests that ask for the database run: the rest (the checklist
    files, scoring, workbooks, the fake Bot API, processes on their own SQLite file, the
    migrations' own PostgreSQL server) do exactly what they did in the SQLite pass, and the
    second pass of the suite is there for what the database changes."""
    if not POSTGRES_URL:
        return
    skip = pytest.mark.skip(reason="no test database: the SQLite pass runs it as it is")
    for item in items:
        if "database_url" not in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[str]:
    """One database on the PostgreSQL server migrated to head, the template each test's
    migrated database is copied from."""
    with fresh_postgres_url(POSTGRES_URL) as url:
        template = Database(url)
        migrate.upgrade(template)
        template.dispose()  # a template must have no connections when it is copied
        yield make_url(url).database or ""


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The test's database: on PostgreSQL a fresh one, already migrated (a copy of the
    template) when the test uses ``database``; on SQLite a file (``database`` copies the
    migrated template into it)."""
    if POSTGRES_URL:
        migrated = "database" in request.fixturenames
        template = request.getfixturevalue("migrated_postgres") if migrated else None
        with fresh_postgres_url(POSTGRES_URL, template) as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'msbot.sqlite3'}"


@pytest.fixture
def empty_database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head; each test gets a copy instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    template = Database(f"sqlite:///{path}")
    migrate.upgrade(template)
    with template.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    template.dispose()
    return path


@pytest.fixture
def database(database_url: str, request: pytest.FixtureRequest) -> Iterator[Database]:
    """A migrated database: a copy of the migrated template, a file on SQLite, a database on
    PostgreSQL (``database_url`` made it so)."""
    if database_url.startswith("sqlite:///"):
        shutil.copyfile(
            request.getfixturevalue("migrated_sqlite"), database_url.removeprefix("sqlite:///")
        )
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """A fake Telegram Bot API server on 127.0.0.1 for the real bot to talk to."""
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotApi, world: World) -> AsyncIterator[RunningBot]:
    """The bot running against the fake on the ``world`` the test module sets up."""
    running = RunningBot(api, world)
    await running.start()
    yield running
    await running.stop()
    api.assert_no_unknown_methods()
