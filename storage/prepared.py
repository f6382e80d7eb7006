"""Core statements compiled once per database kind and run on the driver's cursor.

The quick path (``storage.quick_drafts``) sends five statements for every press. Through
``Connection.execute`` each costs SQLAlchemy about as much Python again as the whole
statement costs SQLite (the execution context, the cached compilation looked up by its key,
the result object). Here a statement is compiled once for the dialect at hand; running it
is the driver's ``execute`` with the parameters in the driver's order, each value converted
by its column's own type (``TypeEngine.bind_processor``: a datetime becomes SQLite's text as
the ORM writes it), and each fetched value by ``result_processor`` — the conversions the
ORM applies, so the rows read and written are the ones the rest of the bot reads and writes.
The transaction is the caller's (``Database.write_driver``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None


class Prepared:
    """One statement for one dialect: its SQL, how to pass its parameters, how to read its
    rows. Everything that does not depend on the values is worked out here, once, so that a
    run is the driver's work and a loop over the parameters and the columns that convert."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        if compiled.post_compile_params:
            raise ValueError("a list bound into IN is rendered per run, not prepared once")
        self.sql = compiled.string
        self.positional = compiled.positiontup is not None
        """qmark style (SQLite): a tuple in the statement's order; else a dictionary."""
        names = list(compiled.positiontup or compiled.binds)
        fixed = {
            name: bind.value
            for name, bind in compiled.binds.items()
            if not bind.required and bind.callable is None
        }
        """Values written into the statement itself (``status = 'draft'``)."""
        self.names = names
        self.slots = [
            (
                name,
                fixed.get(name, _GIVEN),
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name in names
        ]
        self.types = [
            column.type.dialect_impl(dialect)
            for column in getattr(statement, "exported_columns", ())
        ]
        self.reads = bool(self.types)
        self.dialect = dialect
        self.converting: list[tuple[int, Processor]] | None = None
        """The columns read that convert, and how; made at the first run: a driver may need
        the column's type code (PostgreSQL's numbers)."""

    def parameters(self, given: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = []
        for name, fixed, process in self.slots:
            value = given[name] if fixed is _GIVEN or name in given else fixed
            values.append(value if process is None else process(value))
        if self.positional:
            return tuple(values)
        return dict(zip(self.names, values, strict=True))

    def run_many(self, connection: Any, given: Sequence[Mapping[str, Any]]) -> Any:
        """Execute once per set of values in ``given`` (the driver's ``executemany``); the
        cursor."""
        cursor = connection.cursor()
        cursor.executemany(self.sql, [self.parameters(values) for values in given])
        return cursor

    def run(self, connection: Any, given: Mapping[str, Any]) -> Any:
        """Execute on the driver's ``connection``, inside its transaction: the rows
        (converted) for a query or a ``RETURNING``, else the cursor (for ``rowcount``)."""
        cursor = connection.cursor()
        cursor.execute(self.sql, self.parameters(given))
        if not self.reads:
            return cursor
        rows = cursor.fetchall()
        converting = self.converting
        if converting is None:
            codes = [entry[1] for entry in cursor.description]
            converting = self.converting = [
                (index, process)
                for index, (kind, code) in enumerate(zip(self.types, codes, strict=True))
                if (process := kind.result_processor(self.dialect, code)) is not None
            ]
        cursor.close()
        if not converting:
            return rows
        converted = []
        for row in rows:
            values = list(row)
            for index, process in converting:
                values[index] = process(values[index])  # type: ignore[misc]
            converted.append(values)
        return converted


_GIVEN = object()
"""A slot whose value the caller gives."""


class Statements:
    """Statements prepared on first use, per dialect: ``statements.get(dialect, KEY,
    factory)``."""

    def __init__(self) -> None:
        self._prepared: dict[tuple[str, object], Prepared] = {}

    def get(self, dialect: Dialect, key: object, factory: Callable[[], ClauseElement]) -> Prepared:
        found = self._prepared.get((dialect.name, key))
        if found is None:
            found = self._prepared[(dialect.name, key)] = Prepared(factory(), dialect)
        return found


def update_row(table: Table, columns: tuple[str, ...]) -> Update:
    """``UPDATE`` of ``columns`` (given as ``new_<column>``) in the row whose id is
    ``row_id``: built once per set of columns by the quick path and the submission."""
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in columns})
    )


SHARED = Statements()
"""The statements ``in_session`` runs, keyed by the statement itself."""


def in_session(session: Session, statement: ClauseElement) -> tuple[Prepared, Any]:
    """A Core statement built once, prepared for the session's database, and the driver's
    connection to run it on, inside the session's transaction. The session's pending
    changes are flushed first, as its autoflush would before a query. For the statements of
    a shopper's update that the full path sends through a session (a submission, a photo):
    through ``Session.execute`` the count of earlier visits cost 122 µs of CPU, through
    ``Connection.execute`` 73 µs, prepared on the driver 17.5 µs. A statement run so sends
    no ORM events and changes nothing the session holds; the caller sets what it wrote
    (``set_committed_value``)."""
    session.flush()
    connection = session.connection()
    prepared = SHARED.get(connection.dialect, statement, lambda: statement)
    return prepared, connection.connection.driver_connection
