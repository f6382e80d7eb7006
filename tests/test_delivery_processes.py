"""The headline promise, tested as an operations team would run it: three real ``msbot run``
processes on one database, a slow Telegram, one process killed mid-delivery and restarted —
and every recipient holds exactly one workbook of the week, and every one opens; every
manager holds exactly one card of each visit that counts."""

from __future__ import annotations

import asyncio
import io
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
from sqlalchemy import select

from bot.settings import report_trigger
from checklists.scoring import Answer
from exports import delivery
from storage import cards
from storage.db import Database
from storage.models import DeliveryStatus, ReportDelivery, Role, Visit, VisitCard
from testkit.bot_harness import (
    ZONE,
    add_person,
    make_world,
    process_environment,
    start_msbot_run,
    submitted_visit,
)
from testkit.fakebotapi import FakeBotApi

RECIPIENTS = 21
PROCESSES = 3
VISITS = 3
ALL_MET = {"greeted": Answer("yes"), "farewell": Answer("no")}


def holder_pid(database: Database, chat_id: int) -> int | None:
    """The pid of the process working on ``chat_id``'s row (``claimed_by`` is host:pid)."""
    with database.read() as session:
        for row in session.scalars(select(ReportDelivery)):
            if row.recipient.telegram_id == chat_id and row.claimed_by:
                return int(row.claimed_by.rpartition(":")[2])
    return None


async def test_three_processes_a_slow_telegram_and_a_kill_deliver_each_workbook_once(
    api: FakeBotApi, database: Database, database_url: str, tmp_path: Path
) -> None:
    the_world = make_world(database)
    chats = [700 + n for n in range(RECIPIENTS)]
    for n, chat in enumerate(chats):
        role = (Role.MANAGER, Role.HR, Role.ADMIN)[n % 3]
        add_person(
            database, chat, role, ["S1"] if role == Role.MANAGER else None, ("en", "ru")[n % 2]
        )
    week = delivery.due_week(datetime.now(UTC), report_trigger("mon 09:00", str(ZONE)), ZONE)
    shopper = add_person(database, 699, Role.EVALUATOR, ["S1"])
    managers = [chat for n, chat in enumerate(chats) if n % 3 == 0]
    visit_ids = []
    for n in range(VISITS):
        made = submitted_visit(
            the_world, shopper, None, ALL_MET, datetime.now(UTC) - timedelta(hours=n + 1)
        )
        visit_ids.append(made)
        with database.write() as session:
            visit = session.get(Visit, made)
            assert visit is not None and cards.due(session, visit) == len(managers)
    api.fail_next("sendMessage", status="timeout", seconds=4)  # a slow card, held meanwhile
    # The first upload reaches Telegram at once and is answered 25 s late; the second is
    # held before Telegram takes it, and its process is killed while it waits.
    api.fail_next("sendDocument", status="timeout", applied=True, seconds=25)
    api.fail_next("sendDocument", status="timeout", seconds=170)
    env = process_environment(
        tmp_path / "data", api.base_url, MSBOT_DATABASE_URL=database_url, MSBOT_TIMEZONE=str(ZONE)
    )

    async def start() -> asyncio.subprocess.Process:
        return await start_msbot_run(tmp_path, env, captured=False)

    processes = [await start() for _ in range(PROCESSES)]
    try:
        first, second = await api.wait_for(
            lambda: api.calls("sendDocument")[:2] if len(api.calls("sendDocument")) > 1 else None,
            timeout=90,
        )
        slow_chat, held_chat = first.chat_id, second.chat_id
        assert isinstance(held_chat, int)
        pid = await api.wait_for(lambda: holder_pid(database, held_chat), timeout=10)
        [victim] = [p for p in processes if p.pid == pid]
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        processes.remove(victim)
        processes.append(await start())

        def delivered() -> bool:
            with database.read() as session:
                rows = session.scalars(
                    select(ReportDelivery.status).where(ReportDelivery.period == week.label)
                ).all()
            return len(rows) == RECIPIENTS and set(rows) == {DeliveryStatus.SENT}

        await api.wait_for(delivered, timeout=180, what="every row of the week sent")

        def cards_sent() -> bool:
            with database.read() as session:
                rows = session.scalars(select(VisitCard.status)).all()
            return len(rows) == VISITS * len(managers) and set(rows) == {DeliveryStatus.SENT}

        await api.wait_for(cards_sent, timeout=60, what="every card sent")
        await asyncio.sleep(2)  # anything sent twice would show by now
    finally:
        for process in processes:
            process.send_signal(signal.SIGKILL)
            await process.wait()

    assert second.status == 499, "the killed upload never reached Telegram"
    for chat in chats:
        workbooks = [
            m.document
            for m in api.messages[chat].values()
            if m.document is not None and (m.document.filename or "").startswith(week.label)
        ]
        assert len(workbooks) == 1, f"chat {chat} holds {len(workbooks)} workbooks"
        sheets = openpyxl.load_workbook(io.BytesIO(workbooks[0].data)).sheetnames
        assert sheets[0] in ("Summary", "Сводка")
    with database.read() as session:
        found = session.execute(select(VisitCard.id, VisitCard.visit_id)).all()
    visit_of_card = {card_id: visit_id for card_id, visit_id in found}
    for chat in managers:
        held = sorted(  # each card by its ✔ Seen button, whatever the manager's language
            visit_of_card[int(data.rpartition(":")[2])]
            for m in api.messages[chat].values()
            for _, data in (b for row in m.buttons for b in row)
            if data and data.startswith("mc:s:")
        )
        assert held == sorted(visit_ids), f"manager {chat} holds cards of visits {held}"
    with database.read() as session:
        rows = {r.recipient.telegram_id: r for r in session.scalars(select(ReportDelivery))}
    assert rows[held_chat].unknown_outcomes == 1, "the killed upload is on record"
    assert rows[slow_chat].attempts == 1
    assert max(r.sent_at for r in rows.values() if r.sent_at) - min(
        r.created_at for r in rows.values()
    ) < timedelta(minutes=3)
