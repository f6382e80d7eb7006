"""``python -m benchmarks all|conversation|reports|aggregation|engine [options]``.

``all`` runs the four benchmarks one after the other (under 10 minutes on a 2-core machine:
their default sizes, but the reports only to 10,000 visits and the conversation in one round)
and prints the machine first; a single name runs that benchmark at its default sizes and
passes the remaining options to it (``python -m benchmarks reports`` measures the reports'
goal at 1,000, 10,000 and 100,000 visits, about 10 minutes; ``conversation`` judges its goals
on three rounds).
Each runs in its own interpreter, so one's memory does not weigh on the next.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

BENCHMARKS = {
    "conversation": "benchmarks.conversation",
    "reports": "benchmarks.reports",
    "aggregation": "benchmarks.aggregation",
    "engine": "benchmarks.engine_choice",
}
ROOT = Path(__file__).resolve().parent.parent
QUICK = {"reports": ["--sizes", "1000,10000"], "conversation": ["--rounds", "1"]}
"""Options ``all`` gives a benchmark whose full run would take it past 10 minutes."""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def _postgres_version() -> str:
    try:
        from sqlalchemy import create_engine, text

        from testkit.databases import LOCAL_POSTGRES

        engine = create_engine(LOCAL_POSTGRES)
        with engine.connect() as connection:
            version = str(connection.execute(text("SHOW server_version")).scalar())
        engine.dispose()
        return version.split()[0]
    except Exception as exc:  # the machine line must not stop the run
        return f"unavailable ({type(exc).__name__})"


def machine() -> str:
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("python-telegram-bot", "SQLAlchemy", "openpyxl", "XlsxWriter", "psycopg")
    )
    return (
        f"machine: {os.cpu_count()} CPUs ({_cpu_model()}), {_memory_gib():.1f} GiB RAM, "
        f"{platform.system()} {platform.release()}\n"
        f"software: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"PostgreSQL {_postgres_version()}, {versions}"
    )


def run(name: str, options: Sequence[str]) -> int:
    started = time.perf_counter()
    print(f"\n== {name}: python -m {BENCHMARKS[name]} {' '.join(options)}".rstrip(), flush=True)
    done = subprocess.run([sys.executable, "-m", BENCHMARKS[name], *options], cwd=ROOT)
    print(f"== {name}: {time.perf_counter() - started:.0f} s", flush=True)
    return done.returncode


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in (*BENCHMARKS, "all"):
        print(__doc__)
        return 2
    name, options = args[0], args[1:]
    if name != "all":
        return run(name, options)
    print(machine(), flush=True)
    started = time.perf_counter()
    failed = [n for n in BENCHMARKS if run(n, QUICK.get(n, [])) != 0]
    print(f"\nall benchmarks: {time.perf_counter() - started:.0f} s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
