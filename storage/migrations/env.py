"""Alembic environment: the connection comes from ``msbot db upgrade`` (``storage.migrate``);
the ``alembic`` command takes the URL from ``MSBOT_DATABASE_URL``."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from storage.db import Database
from storage.models import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("MSBOT_DATABASE_URL")
    if not url:
        raise SystemExit(
            "set MSBOT_DATABASE_URL to the database to migrate, "
            "e.g. MSBOT_DATABASE_URL=sqlite:///tmp.db alembic revision --autogenerate -m '...'"
        )
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        database.dispose()


run_migrations_online()
