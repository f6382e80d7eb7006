"""Engines and sessions.

A synchronous engine, used from worker threads by the bot (``asyncio.to_thread``): on
SQLite it commits about twice as fast as aiosqlite under 20 concurrent tasks (3.1k against
1.7k commits/s on 2 cores, ``python -m benchmarks engine``), and the same code serves the
CLI and the reports. A shopper's update on SQLite is written on the event loop itself when
the write can start without waiting (``write``/``write_driver`` with ``wait=False``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import PoolProxiedConnection

from storage.files import private_file
from storage.meter import DatabaseCpu

BUSY_TIMEOUT_MS = 10_000


class WouldWait(Exception):
    """A write asked not to wait found another writer at work (or a database whose writes
    cannot be tried without waiting): nothing was done."""


class Database:
    """One database: a writing and a reading session factory over one connection pool.

    On SQLite a writing transaction starts with ``BEGIN IMMEDIATE``: a deferred one that
    reads and then writes fails at once with "database is locked" when another connection
    committed in between, whatever the busy timeout. The writers of one process take turns
    on a lock before that: SQLite lets one writer in at a time anyway, and a thread that
    waits on SQLite's busy handler sleeps in steps of up to 100 ms, where one waiting on the
    lock goes on the moment the writer before it commits (the bot handles several people's
    updates at once). Other processes still meet at SQLite's lock and its busy timeout.
    """

    def __init__(
        self, url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS, **engine_options: Any
    ) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.busy_timeout_ms = busy_timeout_ms
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            # SQLite gives its -wal and -shm files the database file's mode.
            private_file(Path(self.url.database))
        self.engine: Engine = create_engine(self.url, **engine_options)
        if self.is_sqlite:
            _configure_sqlite(self.engine, busy_timeout_ms)
        self.cpu = DatabaseCpu()
        """The CPU the bot's updates spend here (``storage.meter``)."""
        self._turns = threading.RLock() if self.is_sqlite else None
        self._kept: dict[bool, PoolProxiedConnection] = {}
        """The connections kept for ``write_driver``, by whether they wait for a lock."""
        self._kept_in_use = False
        self._immediate = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._writer = sessionmaker(self._immediate, expire_on_commit=False)
        self._writer_at_once = sessionmaker(
            self._immediate.execution_options(sqlite_wait=False), expire_on_commit=False
        )
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite's deferred read transaction sees one moment already (WAL); PostgreSQL's
        # default, READ COMMITTED, lets each statement see what committed before it.
        self._snapshot = (
            self._reader
            if self.is_sqlite
            else sessionmaker(
                self.engine.execution_options(isolation_level="REPEATABLE READ"),
                expire_on_commit=False,
            )
        )

    @contextmanager
    def write(self, *, wait: bool = True) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error.

        ``wait=False``: ``WouldWait`` at once, nothing done, instead of waiting for another
        writer of this process or another process — for work done on the event loop, which
        must never wait for a lock. Only SQLite's writes can be tried so (on PostgreSQL every
        statement is a round trip to the server: ``WouldWait`` always, before any).
        """
        writer = self._writer if wait else self._writer_at_once
        with self._turn(wait), writer.begin() as session:
            yield session

    @contextmanager
    def write_driver(self, *, wait: bool = True) -> Iterator[Any]:
        """As ``write``, on the driver's own connection (``sqlite3``, ``psycopg``): for the
        few statements of the per-update path (``storage.prepared``), where even Core's
        execution costs more than the work. SQLite's transaction starts ``IMMEDIATE`` as
        ``write``'s does; PostgreSQL's starts with the first statement. A driver's error
        comes out as SQLAlchemy's (``OperationalError`` for a locked database), as from
        ``write``, so that callers tell a busy database from a fault the same way."""
        with self._turn(wait):
            yield from self._driver_transaction(wait)

    @contextmanager
    def _turn(self, wait: bool) -> Iterator[None]:
        """This process's turn to write (see the class); ``WouldWait`` rather than wait for
        it when ``wait`` is False."""
        if not wait and not self.is_sqlite:
            raise WouldWait("writes on a database server are never tried on the event loop")
        turns = self._turns
        if turns is None:
            yield
            return
        if not turns.acquire(blocking=wait):
            raise WouldWait("another writer of this process is at work")
        try:
            yield
        finally:
            turns.release()

    def _driver_transaction(self, wait: bool) -> Iterator[Any]:
        driver_error = self.engine.dialect.loaded_dbapi.Error
        connection, kept = self._driver_connection(wait)
        try:
            if self.is_sqlite and (wait or kept):  # a kept one waits as it was told to
                connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
            elif self.is_sqlite:
                _begin_at_once(connection.driver_connection, self.busy_timeout_ms)
            yield connection.driver_connection
            connection.commit()
        except driver_error as exc:
            connection.rollback()
            if not wait and _busy(exc):
                raise WouldWait("another process is writing") from exc
            raise DBAPIError.instance(None, None, exc, driver_error) from exc
        except BaseException:
            connection.rollback()
            raise
        finally:
            if kept:
                self._put_back(connection, wait)
            else:
                connection.close()

    def _put_back(self, connection: PoolProxiedConnection, wait: bool) -> None:
        """A kept connection is free again; one still in its transaction (an interruption
        cut its rollback short) is closed for good, which rolls the transaction back and
        lets go of SQLite's write lock, and the next ``write_driver`` opens another: the
        pool's reset on check-in would have done so for a connection of the pool."""
        driver = connection.driver_connection
        if driver is None or driver.in_transaction:
            if self._kept.get(wait) is connection:  # not already let go by ``dispose``
                del self._kept[wait]
            connection.invalidate()
        self._kept_in_use = False

    def _driver_connection(self, wait: bool) -> tuple[PoolProxiedConnection, bool]:
        """A connection for ``write_driver``, and whether it is one kept for it.

        On SQLite this process's writers take turns (``_turns``, held here), so two
        connections, kept open, serve each in turn: one for the writes that wait for a lock,
        one with SQLite's busy timeout off, for those that must not (``wait=False``), which
        then need not turn it off and on again around each ``BEGIN``. Checking one out of
        the pool and back in (where the pool resets it with a rollback) cost a quick press
        as much CPU as two of its statements, and the busy timeout's two pragmas 7 µs. A
        nested ``write_driver`` of the same thread, and any on PostgreSQL, where writers do
        not take turns, get one from the pool."""
        if not self.is_sqlite or self._kept_in_use:
            return self.engine.raw_connection(), False
        kept = self._kept.get(wait)
        if kept is None:
            kept = self._kept[wait] = self.engine.raw_connection()
            if not wait:
                kept.driver_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
        self._kept_in_use = True
        return kept, True

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read of one moment, for queries that must agree with each other (a week's
        figures and its listing): nothing committed meanwhile is seen by any of them."""
        with self._snapshot() as session:
            yield session

    def dispose(self) -> None:
        """Close every connection (the pool's, and those kept for ``write_driver``); the
        next use opens new ones."""
        with self._turns or nullcontext():  # after a write under way on a kept one
            kept, self._kept = self._kept, {}
            for connection in kept.values():
                connection.invalidate()  # closed for good: the pool is not to have it back
        self.engine.dispose()


def insert_ignoring(session: Session, table: Any, key: list[str]) -> Any:
    """``INSERT ... ON CONFLICT (key) DO NOTHING``, spelt alike on SQLite and PostgreSQL:
    rows whose natural key exists (racing processes included) are skipped."""
    return insert_ignoring_for(session.get_bind().dialect.name, table, key)


def insert_ignoring_for(dialect: str, table: Any, key: list[str]) -> Any:
    """``insert_ignoring`` for the dialect named (``sqlite``, ``postgresql``)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=key)


def insert_or_ignore(
    session: Session, table: Any, rows: list[dict[str, Any]], key: list[str]
) -> None:
    if rows:
        session.execute(insert_ignoring(session, table, key).values(rows))


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if not options.get("sqlite_wait", True):
            try:
                _begin_at_once(connection.connection.driver_connection, busy_timeout_ms)
            except sqlite3.Error as exc:  # SQLAlchemy leaves an event's errors unwrapped
                raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc
            return
        connection.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', 'DEFERRED')}")


def _begin_at_once(driver: Any, busy_timeout_ms: int) -> None:
    """``BEGIN IMMEDIATE`` on SQLite, or ``WouldWait`` if another connection holds the write
    lock: the busy timeout is off for the ``BEGIN`` alone (the lock, once held, is not
    waited for again before the commit)."""
    driver.execute("PRAGMA busy_timeout=0")
    try:
        driver.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _busy(exc):
            raise WouldWait("another process is writing") from exc
        raise
    finally:
        driver.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")


def _busy(error: Exception) -> bool:
    """SQLite found the database locked by another connection (any of its extended codes)."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY
