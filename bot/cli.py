"""``msbot``: the admin's command line (database, checklists, rosters, people, demo data)."""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from telegram.error import TelegramError

from bot import logs
from bot.settings import Settings, SettingsError, load_settings
from checklists.loader import ChecklistError, LoadedChecklist, load_all
from storage import checklist_versions, maintenance, migrate, people, roster
from storage.db import Database
from storage.models import DeliveryStatus, Role
from visits.clock import Clock

if TYPE_CHECKING:
    from bot.reports import ReportService

log = logging.getLogger("msbot")


class Context:
    """Settings and the database, opened on first use so that ``--help`` needs neither."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._database: Database | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings()
            except SettingsError as exc:
                raise click.ClickException(str(exc)) from None
            logs.hide(self._settings.bot_token, self._settings.webhook_secret_token)
        return self._settings

    @property
    def database(self) -> Database:
        """The database, migrated to the current schema (idempotent and quick)."""
        if self._database is None:
            try:
                self._database = Database(self.settings.database_url)
            except ArgumentError as exc:
                raise click.ClickException(
                    f"setting MSBOT_DATABASE_URL is wrong: {exc}; use e.g. "
                    "sqlite:///data/msbot.sqlite3 or postgresql+psycopg://user@host/db"
                ) from None
            migrate.upgrade(self._database)
        return self._database

    @property
    def clock(self) -> Clock:
        return Clock(self.settings.zone)

    def checklists(self) -> dict[str, int]:
        """Register the checklist files; the current version id of each checklist id."""
        loaded = load_checklists([self.settings.checklists_dir])
        with self.database.write() as session:
            try:
                current = checklist_versions.register(session, loaded)
            except ChecklistError as exc:
                raise click.ClickException(f"checklists refused:\n{exc}") from None
            return {checklist_id: version.id for checklist_id, version in current.items()}

    def report_service(self, export_dir: Path | None = None) -> ReportService:
        """The bot's own report service (no checklist needed: reports read stored visits)."""
        from bot import bootstrap

        deployment = bootstrap.Deployment.from_settings(self.settings, self.database, {})
        if export_dir is not None:
            deployment = replace(deployment, export_dir=export_dir)
        return bootstrap.report_service(deployment)

    def close(self) -> None:
        if self._database is not None:
            self._database.dispose()


def load_checklists(paths: list[Path]) -> list[LoadedChecklist]:
    try:
        return load_all(paths)
    except ChecklistError as exc:
        raise click.ClickException(f"checklists are not valid:\n{exc}") from None


pass_context = click.make_pass_decorator(Context, ensure=True)


class Commands(click.Group):
    """Every error a command can meet in the field is one line, not a traceback: a file that
    cannot be written (a full disk, a missing permission), a database that cannot be used,
    a Bot API that refuses. The traceback is still logged at DEBUG (``msbot -v``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as exc:
            log.debug("command failed", exc_info=True)
            where = f": {exc.filename}" if exc.filename else ""
            raise click.ClickException(f"{exc.strerror or exc}{where}") from None
        except SQLAlchemyError as exc:
            log.debug("command failed", exc_info=True)
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise click.ClickException(f"the database cannot be used: {reason}") from None
        except TelegramError as exc:
            log.debug("command failed", exc_info=True)
            raise click.ClickException(f"the Bot API call failed: {exc}") from None


@click.group(cls=Commands)
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Mystery-shopper bot: checklists, visits and weekly reports."""
    logs.configure(verbose)
    context = ctx.ensure_object(Context)
    ctx.call_on_close(context.close)


@main.command("run")
@click.option("--webhook-url", help="Receive updates by webhook at this public HTTPS URL.")
@click.option(
    "--listen",
    default="0.0.0.0:8443",
    show_default=True,
    help="HOST:PORT the webhook server listens on (behind the load balancer).",
)
@pass_context
def run(context: Context, webhook_url: str | None, listen: str) -> None:
    """Start the bot: long polling, or a webhook server with --webhook-url."""
    from bot import bootstrap

    settings = context.settings
    if not settings.bot_token:
        raise click.ClickException(
            "setting MSBOT_BOT_TOKEN is missing: create a bot with @BotFather and set its token"
        )
    deployment = bootstrap.Deployment.from_settings(
        settings, context.database, context.checklists()
    )
    try:
        bootstrap.run(deployment, webhook_url, listen)
    except bootstrap.StartupError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(context: Context) -> None:
    """Create or migrate the database to the current schema."""
    context.database  # noqa: B018 - opening it migrates it
    click.echo(f"database is up to date: {context.database.url.render_as_string()}")


@main.group("checklists")
def checklists_group() -> None:
    """Checklist files."""


@checklists_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@pass_context
def checklists_validate(context: Context, paths: tuple[Path, ...]) -> None:
    """Check checklist files (default: the configured folder); print every problem."""
    targets = list(paths) or [context.settings.checklists_dir]
    try:
        loaded = load_all(targets)
    except ChecklistError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    for item in loaded:
        click.echo(f"ok  {item.path}  ({item.checklist.id} v{item.checklist.version})")


@checklists_group.command("convert")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the file the conversion writes if it exists.")
def checklists_convert(path: Path, force: bool) -> None:
    """A checklist .xlsx as .yaml beside it, or a .yaml as .xlsx; the content stays the same."""
    from checklists import spreadsheet

    try:
        [loaded] = load_all([path])
    except ChecklistError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException("nothing was converted; fix the file and run again") from None
    workbook = path.suffix.lower() == ".xlsx"
    target = path.with_suffix(".yaml" if workbook else ".xlsx")
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists; add --force to replace it")
    if workbook:
        spreadsheet.write_yaml(loaded.checklist, target)
    else:
        spreadsheet.write(loaded.checklist, target)
    click.echo(f"written: {target} ({loaded.checklist.id} v{loaded.checklist.version})")


@checklists_group.command("list")
@pass_context
def checklists_list(context: Context) -> None:
    """Id, version, channel and item count of each checklist in use."""
    loaded = load_checklists([context.settings.checklists_dir])
    language = context.settings.language
    rows = [
        (c.id, f"v{c.version}", c.channel.value, str(len(c.items)), c.title.get(language))
        for c in (item.checklist for item in loaded)
    ]
    _table(("id", "version", "channel", "items", "title"), rows)


@main.group("import")
def import_group() -> None:
    """Import stores and staff from .xlsx or .csv."""


def _run_import(
    context: Context, action: Callable[..., roster.ImportReport], path: Path, **options: Any
) -> None:
    try:
        with context.database.write() as session:
            report = action(session, path, **options)
    except roster.RosterError as exc:
        for problem in exc.problems:
            click.echo(f"{path}: {problem}", err=True)
        raise click.ClickException("nothing was imported; fix the file and run again") from None
    for line in report.lines():
        click.echo(line)


@import_group.command("stores")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@pass_context
def import_stores(context: Context, path: Path, dry_run: bool) -> None:
    """Stores: code, name, address, latitude, longitude (English or Russian headers)."""
    _run_import(context, roster.import_stores, path, dry_run=dry_run)


@import_group.command("staff")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@click.option(
    "--deactivate-missing", is_flag=True, help="Deactivate employees that are not in the file."
)
@pass_context
def import_staff(context: Context, path: Path, dry_run: bool, deactivate_missing: bool) -> None:
    """Staff: store_code, code, name, position (English or Russian headers)."""
    _run_import(
        context, roster.import_staff, path, dry_run=dry_run, deactivate_missing=deactivate_missing
    )


@main.command("invite")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.option("--store", "stores", multiple=True, help="Store code (repeat for several).")
@click.option("--days", default=people.INVITATION_DAYS, show_default=True, type=click.IntRange(1))
@click.option("--note", default="", help="Who the invitation is for (kept for the admin).")
@pass_context
def invite(context: Context, role: str, stores: tuple[str, ...], days: int, note: str) -> None:
    """Print a one-time invitation code and its deep link."""
    if Role(role) == Role.MANAGER and not stores:
        raise click.ClickException("a manager invitation needs at least one --store CODE")
    try:
        with context.database.write() as session:
            invitation = people.create_invitation(
                session, Role(role), list(stores), days=days, note=note
            )
            code, expires = invitation.code, invitation.expires_at
    except people.UnknownStores as exc:
        raise click.ClickException(str(exc)) from None
    username = context.settings.bot_username or "<your_bot>"
    click.echo(f"code:    {code}")
    click.echo(f"link:    https://t.me/{username}?start={code}")
    click.echo(f"expires: {expires.astimezone(context.settings.zone):%Y-%m-%d %H:%M %Z}")


@main.group("people")
def people_group() -> None:
    """People registered in the bot."""


@people_group.command("list")
@pass_context
def people_list(context: Context) -> None:
    """Everyone registered: pseudonym, role, name, Telegram id, stores."""
    with context.database.read() as session:
        rows = [
            (
                p.pseudonym,
                p.role,
                p.name,
                str(p.telegram_id or ""),
                ",".join(s.code for s in p.stores),
                "" if p.active else "inactive",
            )
            for p in people.list_people(session)
        ]
    _table(("pseudonym", "role", "name", "telegram id", "stores", ""), rows)


@main.command("report")
@click.option(
    "--week", "week_text", help="ISO week, e.g. 2026-W47 (default: the last complete one)."
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    default=("all",),
    show_default=True,
    help="all, hr or store:CODE[,CODE] (repeat for several workbooks).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the workbooks (default: MSBOT_EXPORT_DIR).",
)
@click.option(
    "--send",
    is_flag=True,
    help="Also send the week's workbooks to every recipient through the bot.",
)
@pass_context
def report(
    context: Context, week_text: str | None, scopes: tuple[str, ...], out: Path | None, send: bool
) -> None:
    """Write weekly workbooks and print their paths; --send delivers them in Telegram."""

    from exports import delivery
    from exports.build import WeekCache
    from exports.report_data import Scope, ScopeKind
    from exports.weeks import Week

    settings = context.settings
    latest = Week.last_complete(context.clock.now(), settings.zone)
    try:
        week = Week.parse(week_text) if week_text else latest
        parsed = [Scope.parse(text) for text in scopes]
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if week > latest:
        raise click.ClickException(f"week {week} has not ended yet (the latest is {latest})")
    if send and not settings.bot_token:
        raise click.ClickException("--send needs MSBOT_BOT_TOKEN")
    codes = sorted(
        {c for scope in parsed if scope.kind == ScopeKind.STORES for c in scope.store_codes}
    )
    if codes:
        try:
            with context.database.read() as session:
                people.stores_by_code(session, codes)
        except people.UnknownStores as exc:
            raise click.ClickException(str(exc)) from None
    service = context.report_service(out)
    cache = WeekCache(context.database, service.zone)
    with click.progressbar(parsed, label=f"building {week}", file=sys.stderr) as bar:
        paths = [service.build(week, scope, settings.language, cache=cache).path for scope in bar]
    for path in paths:
        click.echo(str(path))
    if send:
        from bot.botapi import make_bot

        with context.database.write() as session:
            count = delivery.resend(session, week, delivery.recipients(session))
        bot = make_bot(settings.bot_token, settings.bot_api_url)

        async def deliver() -> int:
            async with bot:
                return await context.report_service().run_once(bot)

        sent = asyncio.run(deliver())
        click.echo(f"sent {sent} of {count} workbooks for {week}; the rest are retried by the bot")


@main.command("deliveries")
@click.option(
    "--week", "week_text", help="ISO week, e.g. 2026-W47 (default: the last complete one)."
)
@pass_context
def deliveries(context: Context, week_text: str | None) -> None:
    """The delivery ledger of a week: who, status, attempts, last error, when sent."""
    from exports import delivery
    from exports.weeks import Week

    zone = context.settings.zone
    try:
        week = Week.parse(week_text) if week_text else Week.last_complete(context.clock.now(), zone)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    with context.database.read() as session:
        rows = [
            (
                f"{row.recipient.pseudonym} {row.recipient.name or ''}".strip(),
                row.recipient.role,
                row.scope,
                row.status,
                str(row.attempts),
                f"{row.sent_at.astimezone(zone):%Y-%m-%d %H:%M}" if row.sent_at else "",
                (row.last_error or "").splitlines()[0][:80] if row.last_error else "",
            )
            for row in session.scalars(delivery.ledger_rows(week))
        ]
    click.echo(f"deliveries of {week}")
    _table(("recipient", "role", "scope", "status", "attempts", "sent at", "last error"), rows)
    unknown = sum(1 for row in rows if row[3] == DeliveryStatus.UNKNOWN)
    if unknown:
        click.echo(
            f"{unknown} with an unknown outcome: the upload went out and no answer came; "
            f"ask the recipient, and resend with: msbot report --week {week} --send"
        )


@main.command("assign")
@click.option("--store", "store_code", help="Store code.")
@click.option("--checklist", "checklist_id", help="Checklist id, e.g. store_visit.")
@click.option("--evaluator", help="The shopper's pseudonym (E-07) or Telegram id.")
@click.option("--from", "opens_on", type=click.DateTime(["%Y-%m-%d"]), help="First day.")
@click.option("--to", "closes_on", type=click.DateTime(["%Y-%m-%d"]), help="Last day.")
@click.option("--note", default="", help="What the shopper should know.")
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Many at once from .xlsx/.csv: store_code, checklist, evaluator, from, to.",
)
@pass_context
def assign(
    context: Context,
    store_code: str | None,
    checklist_id: str | None,
    evaluator: str | None,
    opens_on: datetime | None,
    closes_on: datetime | None,
    note: str,
    path: Path | None,
) -> None:
    """Assign visits to shoppers: one from the options, or many from a file."""
    from visits import assignments

    try:
        if path is not None:
            wanted = assignments.read_file(path)
        elif store_code and checklist_id and evaluator and opens_on and closes_on:
            wanted = [
                assignments.NewAssignment(
                    store_code, checklist_id, evaluator, opens_on.date(), closes_on.date(), note
                )
            ]
        else:
            raise click.UsageError(
                "give --file, or all of --store, --checklist, --evaluator, --from and --to"
            )
        known = set(context.checklists())
        with context.database.write() as session:
            ids = assignments.create(session, wanted, known)
    except roster.RosterError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise click.ClickException("nothing was assigned") from None
    click.echo(f"assigned {len(ids)} visit(s): " + ", ".join(f"#{i}" for i in ids))


@main.command("assignments")
@click.option("--overdue", is_flag=True, help="Only those whose window has passed.")
@pass_context
def assignments_list(context: Context, overdue: bool) -> None:
    """Open assignments (or the overdue ones), soonest to close first."""
    from visits import assignments

    today = context.clock.today()
    with context.database.read() as session:
        rows = (
            assignments.overdue(session, today)
            if overdue
            else assignments.open_assignments(session)
        )
        table = [
            (
                f"#{a.id}",
                a.store.code,
                a.checklist_id,
                a.evaluator.pseudonym,
                f"{a.opens_on}",
                f"{a.closes_on}",
                a.note,
            )
            for a in rows
        ]
    _table(("id", "store", "checklist", "shopper", "from", "to", "note"), table)


@main.command("actions")
@click.option("--open", "only_open", is_flag=True, help="Only those still to be done.")
@click.option("--overdue", is_flag=True, help="Only those open past their due date.")
@click.option("--store", "store_code", default=None, help="Only this store's (its code).")
@pass_context
def actions_list(context: Context, only_open: bool, overdue: bool, store_code: str | None) -> None:
    """Corrective actions in play (open or closed, not yet verified), soonest due first;
    ``--open`` or ``--overdue`` narrow them, ``--store`` picks one store."""
    from storage import actions
    from storage.models import ActionStatus

    today, zone = context.clock.today(), context.clock.zone
    with context.database.read() as session:
        store_ids = None
        if store_code is not None:
            try:
                store_ids = [s.id for s in people.stores_by_code(session, [store_code])]
            except people.UnknownStores:
                raise click.ClickException(f"no store with the code {store_code!r}") from None
        wanted = (ActionStatus.OPEN,) if only_open or overdue else actions.ACTIVE
        rows = [
            a
            for a in actions.of_stores(session, store_ids, wanted)
            if not overdue or a.due_on < today
        ]
        table = []
        for a in rows:
            opened = a.created_at.astimezone(zone).date()
            closed = a.done_at.astimezone(zone).date() if a.done_at else None
            table.append(
                (
                    f"#{a.id}",
                    a.store.code,
                    f"visit #{a.visit_id}",
                    actions.standard_name(a, "en"),
                    "overdue" if a.status == ActionStatus.OPEN and a.due_on < today else a.status,
                    a.owner.name if a.owner is not None else "store managers",
                    f"{opened}",
                    f"{a.due_on}",
                    ((closed or today) - opened).days,
                    f"{closed}" if closed else "",
                )
            )
    header = ("id", "store", "from", "standard", "status", "owner", "opened", "due", "days")
    _table((*header, "closed"), table)


@main.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@pass_context
def backup(context: Context, path: Path) -> None:
    """Copy the live SQLite database to PATH (a file, or a folder for a dated file)."""
    try:
        target = maintenance.backup(context.database, path)
    except maintenance.MaintenanceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup written: {target}")


@main.command("void")
@click.argument("visit_id", type=int)
@click.option("--reason", required=True, help="Why the visit must not count (kept for audit).")
@pass_context
def void(context: Context, visit_id: int, reason: str) -> None:
    """Exclude a submitted visit from reports, keeping it and an audit record."""
    actor = f"cli:{getpass.getuser()}"
    try:
        with context.database.write() as session:
            maintenance.void_visit(session, visit_id, reason, actor)
    except maintenance.MaintenanceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"visit {visit_id} is void: {reason}")


@main.command("demo-data")
@click.option("--stores", default=12, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--visits", default=300, show_default=True, type=click.IntRange(0, 10_000_000))
@click.option("--weeks", default=8, show_default=True, type=click.IntRange(1, 520))
@click.option("--seed", default=1, show_default=True, type=int)
@pass_context
def demo_data(context: Context, stores: int, visits: int, weeks: int, seed: int) -> None:
    """Fill the database with realistic, reproducible visits on the shipped checklists."""
    from storage import demo

    context.checklists()
    loaded = load_checklists([context.settings.checklists_dir])
    with context.database.write() as session:
        summary = demo.generate(
            session,
            [item.checklist for item in loaded],
            stores=stores,
            visits=visits,
            weeks=weeks,
            seed=seed,
            zone=context.settings.zone,
        )
    maintenance.refresh_statistics(context.database)
    click.echo(summary)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    if not rows:
        click.echo("(none)")
        return
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )
