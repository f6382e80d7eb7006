"""Migrations create the schema the models describe, up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage import migrate
from storage.db import Database
from storage.models import Base
from testkit.databases import fresh_postgres_url

POSTGRES_SERVER = os.environ.get(
    "MSBOT_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _assert_matches_models(database: Database) -> None:
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_an_empty_database_upgrades_to_the_models_and_back_down(empty_database: Database) -> None:
    migrate.upgrade(empty_database)
    assert migrate.is_up_to_date(empty_database)
    _assert_matches_models(empty_database)
    migrate.downgrade(empty_database, "base")
    assert set(inspect(empty_database.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(empty_database)
    _assert_matches_models(empty_database)


def test_upgrading_twice_changes_nothing(database: Database) -> None:
    migrate.upgrade(database)
    assert migrate.is_up_to_date(database)


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite only")
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.fixture
def postgres() -> Iterator[Database]:
    with fresh_postgres_url(POSTGRES_SERVER) as url:
        database = Database(url)
        yield database
        database.dispose()


def test_migrations_upgrade_and_downgrade_on_postgresql(postgres: Database) -> None:
    migrate.upgrade(postgres)
    _assert_matches_models(postgres)
    migrate.downgrade(postgres, "base")
    assert set(inspect(postgres.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(postgres)
    assert migrate.is_up_to_date(postgres)
