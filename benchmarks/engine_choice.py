"""Why the bot uses a sync engine from threads: commits/s with 20 concurrent tasks on SQLite.

Both sides use the same file settings (WAL, synchronous=FULL, busy timeout) and write one
answer-sized row per transaction, as the bot does per answer. Run:
``python -m benchmarks.engine_choice [--tasks 20] [--commits 200]``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, event, insert
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import Database

METADATA = MetaData()
ROWS = Table(
    "answer_like",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("task", Integer),
    Column("value", String(40)),
)


async def sync_in_threads(path: Path, tasks: int, commits: int) -> float:
    database = Database(f"sqlite:///{path}")
    METADATA.create_all(database.engine)

    def work(task: int) -> None:
        for n in range(commits):
            with database.write() as session:
                session.execute(insert(ROWS).values(task=task, value=f"answer {n}"))

    started = time.perf_counter()
    await asyncio.gather(*(asyncio.to_thread(work, task) for task in range(tasks)))
    elapsed = time.perf_counter() - started
    database.dispose()
    return tasks * commits / elapsed


async def async_aiosqlite(path: Path, tasks: int, commits: int) -> float:
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=10000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)

    async def work(task: int) -> None:
        for n in range(commits):
            async with engine.begin() as connection:
                await connection.execute(insert(ROWS).values(task=task, value=f"answer {n}"))

    started = time.perf_counter()
    await asyncio.gather(*(work(task) for task in range(tasks)))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return tasks * commits / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--commits", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ours = await sync_in_threads(Path(folder) / "sync.sqlite3", args.tasks, args.commits)
        baseline = await async_aiosqlite(Path(folder) / "async.sqlite3", args.tasks, args.commits)
    print(f"{args.tasks} concurrent tasks × {args.commits} commits, SQLite WAL + synchronous=FULL")
    print(f"  sync engine in threads (ours): {ours:8.0f} commits/s")
    print(f"  aiosqlite async engine:        {baseline:8.0f} commits/s")
    print(f"  ratio ours / aiosqlite:        {ours / baseline:8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
