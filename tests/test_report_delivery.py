"""Weekly workbooks reach each recipient exactly once, through the real Bot API client."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import event, select
from sqlalchemy.orm import selectinload
from telegram import Bot

from bot.botapi import make_bot
from bot.cli import main
from bot.reports import ReportService
from checklists.scoring import Answer as A
from exports import delivery
from exports.build import check_workbook
from exports.report_data import Scope, ScopeKind
from exports.weeks import Week
from storage import ledger
from storage.db import Database
from storage.models import ReportDelivery, Role
from testkit.bot_harness import (
    TOKEN,
    ZONE,
    RunningBot,
    World,
    add_person,
    make_world,
    submitted_visit,
)
from testkit.fakebotapi import FakeBotApi
from testkit.workbooks import store_codes_in

MANAGER, OTHER_MANAGER, HR, ADMIN = 601, 602, 603, 604
WEEK = Week(2026, 47)
AFTER_DUE = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 10:00 Moscow, after 09:00
ANSWERS = {
    "greet_time": A(20),
    "greeted": A("yes"),
    "smiled": A("yes"),
    "named_self": A("no"),
    "nps": A(10),
}


@pytest.fixture
def world(database: Database) -> World:
    world = make_world(database)
    add_person(database, MANAGER, Role.MANAGER, ["S1"])
    add_person(database, OTHER_MANAGER, Role.MANAGER, ["S2"])
    add_person(database, HR, Role.HR)
    add_person(database, ADMIN, Role.ADMIN)
    evaluator = add_person(database, 501, Role.EVALUATOR)
    submitted_visit(
        world, evaluator, world.anna_id, ANSWERS, datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    )
    return world


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    """The product's own Bot API client (retries, uploads never repeated), without the rate
    limiter's pacing."""
    client = make_bot(TOKEN, api.base_url, rate_limited=False)
    async with client:
        yield client


def service(world: World, tmp_path: Path, worker: str = "w1") -> ReportService:
    return ReportService(
        database=world.database,
        zone=ZONE,
        language="en",
        export_dir=tmp_path / "exports",
        schedule="mon 09:00",
        worker=worker,
    )


def documents(api: FakeBotApi) -> dict[int, list[bytes]]:
    sent: dict[int, list[bytes]] = {}
    for call in api.calls("sendDocument"):
        if call.ok:
            upload = next(iter(call.files.values()))
            sent.setdefault(int(call.params["chat_id"]), []).append(upload.data)
    return sent


def rows_of(database: Database) -> list[ReportDelivery]:
    with database.read() as session:
        rows = select(ReportDelivery).options(selectinload(ReportDelivery.recipient))
        return list(session.scalars(rows.order_by(ReportDelivery.id)))


def held_by(item: delivery.Claimed) -> tuple[int, str]:
    """The row and the token of a claim, as the ledger's steps take them."""
    return item.delivery_id, item.token


async def test_a_missed_run_is_delivered_once_when_the_bot_comes_back(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    reports = service(world, tmp_path)
    assert await reports.run_once(bot, AFTER_DUE) == 4
    assert await reports.run_once(bot, AFTER_DUE + timedelta(minutes=1)) == 0
    sent = documents(api)
    assert sorted(sent) == [MANAGER, OTHER_MANAGER, HR, ADMIN]
    assert all(len(files) == 1 for files in sent.values())
    rows = rows_of(world.database)
    assert {(r.period, r.status) for r in rows} == {(WEEK.label, "sent")}
    assert all(r.workbook_hash and r.file_path and Path(r.file_path).exists() for r in rows)
    caption = api.calls("sendDocument")[0].params["caption"]
    assert "2026-W47" in caption and "16.11.2026" in caption and "22.11.2026" in caption


async def test_a_run_reads_its_week_once_for_every_workbook(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    weeks_read: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # The week's sums over eight weeks: the one aggregation each reading runs once.
        if "GROUP BY" in statement and ".week" in statement:
            weeks_read.append(statement)

    event.listen(world.database.engine, "before_cursor_execute", record)
    try:
        assert await service(world, tmp_path).run_once(bot, AFTER_DUE) == 4
    finally:
        event.remove(world.database.engine, "before_cursor_execute", record)
    assert len(weeks_read) == 1, "four workbooks, one reading of the week"
    assert len(documents(api)) == 4


async def test_each_manager_gets_only_their_stores(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    await service(world, tmp_path).run_once(bot, AFTER_DUE)
    sent = documents(api)
    assert store_codes_in(sent[MANAGER][0]) == {"S1"}
    assert store_codes_in(sent[OTHER_MANAGER][0]) == {"S2"}
    assert store_codes_in(sent[ADMIN][0]) == {"S1", "S2"}


async def test_nothing_is_sent_before_the_scheduled_time(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    reports = service(world, tmp_path)
    before = datetime(2026, 11, 23, 5, 59, tzinfo=UTC)  # Monday 08:59 Moscow
    await reports.run_once(bot, before)
    assert {r.period for r in rows_of(world.database)} == {"2026-W46"}, "the week before is due"
    assert WEEK.label not in {r.period for r in rows_of(world.database)}


async def test_a_failed_send_is_retried_after_a_backoff(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    reports = service(world, tmp_path)
    api.fail_next("sendDocument", times=1, status=500)
    assert await reports.run_once(bot, AFTER_DUE) == 3
    [failed] = [r for r in rows_of(world.database) if r.status == "failed"]
    assert failed.attempts == 1 and failed.last_error
    assert failed.next_attempt_at == AFTER_DUE + timedelta(seconds=30)
    assert await reports.run_once(bot, AFTER_DUE + timedelta(seconds=10)) == 0
    assert await reports.run_once(bot, AFTER_DUE + timedelta(seconds=31)) == 1
    assert {r.status for r in rows_of(world.database)} == {"sent"}
    assert all(len(files) == 1 for files in documents(api).values())


async def test_telegrams_retry_after_is_honoured(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    api.fail_next("sendDocument", times=1, status=429, retry_after=7)
    await service(world, tmp_path).run_once(bot, AFTER_DUE)
    [waiting] = [r for r in rows_of(world.database) if r.status == "failed"]
    assert waiting.next_attempt_at == AFTER_DUE + timedelta(seconds=7)


async def test_two_schedulers_on_one_database_never_send_twice(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    first, second = service(world, tmp_path, "a"), service(world, tmp_path, "b")
    counts = await asyncio.gather(
        first.run_once(bot, AFTER_DUE),
        second.run_once(bot, AFTER_DUE),
        first.run_once(bot, AFTER_DUE),
    )
    assert sum(counts) == 4
    assert all(len(files) == 1 for files in documents(api).values())
    assert len(documents(api)) == 4


async def test_an_admin_resend_sends_the_week_again(
    api: FakeBotApi, world: World, tmp_path: Path
) -> None:
    running = RunningBot(api, world, export_dir=tmp_path / "exports")
    await running.start()
    try:
        await api.wait_for(lambda: len(api.calls("sendDocument")) >= 4, timeout=15)
        before = len(api.calls("sendDocument"))
        admin = api.user(ADMIN, language_code="en")
        await admin.send_command(
            "/resend",
            "2026-W47",
            timeout=15,
            until=lambda r: len(api.calls("sendDocument")) >= before + 4,
        )
        assert any("will be sent again (4 recipients)" in m.shown_text for m in admin.messages())
        assert len(api.calls("sendDocument")) == before + 4
        manager = api.user(MANAGER, language_code="en")
        await manager.send_command("/resend", "2026-W47")
        assert "Only an administrator" in manager.last_text()
    finally:
        await running.stop()


async def test_a_bot_started_after_the_scheduled_time_delivers_what_is_due_on_start(
    api: FakeBotApi, world: World, tmp_path: Path
) -> None:
    running = RunningBot(api, world, export_dir=tmp_path / "exports")
    await running.start()
    try:
        await api.wait_for(lambda: len(api.calls("sendDocument")) >= 4, timeout=15)
    finally:
        await running.stop()
    due = {r.period for r in rows_of(world.database)}
    assert len(due) == 1 and all(r.status == "sent" for r in rows_of(world.database))


async def test_a_manager_asks_for_a_given_week_with_report(
    api: FakeBotApi, world: World, tmp_path: Path
) -> None:
    running = RunningBot(api, world, export_dir=tmp_path / "exports")
    await running.start()
    try:
        manager = api.user(MANAGER, language_code="en")
        reaction = await manager.send_command(
            "/report",
            "2026-W47",
            timeout=15,
            until=lambda r: "sendDocument" in r.methods,
        )
        [call] = [c for c in reaction.calls if c.method == "sendDocument"]
        assert store_codes_in(next(iter(call.files.values())).data) == {"S1"}
        await manager.send_command("/report", "next-week")
        assert "don't understand the week" in manager.last_text()
        await manager.send_command("/report", "2099-W01")
        assert "has not ended yet" in manager.last_text()
        evaluator = api.user(501, language_code="en")
        await evaluator.send_command("/report")
        assert "Reports are for" in evaluator.last_text()
    finally:
        await running.stop()


async def test_an_oversized_workbook_is_split_into_one_workbook_per_store(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    reports = service(world, tmp_path)
    whole = reports.build(WEEK, Scope(ScopeKind.HR), "en")
    part = reports.build(WEEK, Scope(ScopeKind.HR).only("S1"), "en")
    reports.document_limit = (whole.size + part.size) // 2
    await reports.send(bot, HR, WEEK, whole, "en", Scope(ScopeKind.HR))
    notice, *rest = [
        c for c in api.calls(chat_id=HR) if c.method in ("sendMessage", "sendDocument")
    ]
    assert "over Telegram's 50 MB limit, so it comes as 2 workbooks" in notice.params["text"]
    files = [next(iter(c.files.values())) for c in rest]
    assert [f.filename for f in files] == [
        "2026-W47-hr-store-S1-en.xlsx",
        "2026-W47-hr-store-S2-en.xlsx",
    ]
    assert [store_codes_in(f.data) for f in files] == [{"S1"}, {"S2"}]
    visits = openpyxl.load_workbook(io.BytesIO(files[0].data))["Visits"]
    assert "Evaluator" not in [c.value for c in visits[1]], "HR's parts still hide shoppers"


async def test_a_workbook_too_large_even_per_store_is_announced_with_its_path(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    reports = service(world, tmp_path)
    reports.document_limit = 100
    built = reports.build(WEEK, Scope(ScopeKind.ALL), "en")
    await reports.send(bot, ADMIN, WEEK, built, "en", Scope(ScopeKind.ALL))
    [message] = [c for c in api.calls(chat_id=ADMIN) if c.method == "sendMessage"]
    assert (
        str(built.path) in message.params["text"]
        and "over Telegram's 50 MB limit" in message.params["text"]
    )
    assert not api.calls("sendDocument")


def received(api: FakeBotApi) -> dict[int, list[bytes]]:
    """The workbooks each chat holds: what Telegram stored, answered in time or not."""
    return {
        chat: [m.document.data for m in messages.values() if m.document is not None]
        for chat, messages in api.messages.items()
    }


async def test_processes_building_one_scope_at_once_each_get_a_whole_workbook(
    world: World, tmp_path: Path
) -> None:
    reports = service(world, tmp_path)
    built = await asyncio.gather(
        *(asyncio.to_thread(reports.build, WEEK, Scope(ScopeKind.HR), "en") for _ in range(6))
    )
    for workbook in built:
        check_workbook(workbook.data)
        assert store_codes_in(workbook.data) == {"S1", "S2"}
    [kept] = {w.path for w in built}
    check_workbook(kept.read_bytes())
    assert [p.name for p in kept.parent.iterdir()] == [kept.name], "no temporary file is left"


async def test_recipients_of_one_scope_in_two_languages_each_get_their_own(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    add_person(world.database, 605, Role.HR, language="ru")
    await service(world, tmp_path).run_once(bot, AFTER_DUE)
    sent = documents(api)
    english = openpyxl.load_workbook(io.BytesIO(sent[HR][0])).sheetnames
    russian = openpyxl.load_workbook(io.BytesIO(sent[605][0])).sheetnames
    assert english[0] == "Summary" and russian[0] == "Сводка"
    names = {next(iter(c.files.values())).filename for c in api.calls("sendDocument")}
    assert {"2026-W47-hr-en.xlsx", "2026-W47-hr-ru.xlsx"} <= names


async def test_every_sent_workbook_opens_and_its_hash_is_in_the_ledger(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    await service(world, tmp_path).run_once(bot, AFTER_DUE)
    by_chat = documents(api)
    for row in rows_of(world.database):
        [data] = by_chat[row.recipient.telegram_id]
        check_workbook(data)
        assert row.workbook_hash == hashlib.sha256(data).hexdigest()


async def test_a_slow_answer_to_an_upload_is_waited_for_not_sent_again(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    """Telegram has the file and answers after 12 s (past the old 10 s timeout)."""
    api.fail_next("sendDocument", status="timeout", applied=True, seconds=12, chat_id=MANAGER)
    assert await service(world, tmp_path).run_once(bot, AFTER_DUE) == 4
    assert [len(files) for files in received(api).values()] == [1, 1, 1, 1]
    assert {(r.status, r.attempts) for r in rows_of(world.database)} == {("sent", 1)}


async def test_an_upload_without_an_answer_is_marked_unknown_and_retried_once(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    reports = service(world, tmp_path)
    reports.upload_read_seconds = 1.0
    api.fail_next(
        "sendDocument", times=2, status="timeout", applied=True, seconds=3, chat_id=MANAGER
    )
    assert await reports.run_once(bot, AFTER_DUE) == 3
    [row] = [r for r in rows_of(world.database) if r.recipient.telegram_id == MANAGER]
    assert (row.status, row.attempts, row.unknown_outcomes) == ("unknown", 1, 1)
    assert row.last_error and row.last_error.startswith("outcome unknown")
    assert len(api.calls("sendDocument", chat_id=MANAGER)) == 1, "not repeated at once"
    assert await reports.run_once(bot, AFTER_DUE + timedelta(seconds=30)) == 0, "not yet"
    later = AFTER_DUE + ledger.UNKNOWN_RETRY_AFTER
    assert await reports.run_once(bot, later) == 0, "the one retry, unknown again"
    assert await reports.run_once(bot, later + timedelta(hours=2)) == 0, "left for an admin"
    [row] = [r for r in rows_of(world.database) if r.recipient.telegram_id == MANAGER]
    assert (row.status, row.attempts, row.unknown_outcomes) == ("unknown", 2, 2)
    assert len(api.calls("sendDocument", chat_id=MANAGER)) == 2


async def test_a_dead_process_holds_only_the_row_it_was_working_on(
    api: FakeBotApi, bot: Bot, world: World, tmp_path: Path
) -> None:
    dead = service(world, tmp_path, "dead")
    held = dead.claim_next(AFTER_DUE)  # claimed, then the process was killed
    assert held is not None
    survivor = service(world, tmp_path, "survivor")
    assert await survivor.run_once(bot, AFTER_DUE + timedelta(seconds=1)) == 3
    assert held.recipient.telegram_id not in documents(api)
    after_lease = AFTER_DUE + ledger.CLAIM_LEASE + timedelta(seconds=1)
    assert await survivor.run_once(bot, after_lease) == 1
    assert [len(files) for files in documents(api).values()] == [1, 1, 1, 1]


def test_a_process_that_lost_its_claim_cannot_record_over_the_new_holder(
    world: World, tmp_path: Path
) -> None:
    old, new = service(world, tmp_path, "old"), service(world, tmp_path, "new")
    first = old.claim_next(AFTER_DUE)
    assert first is not None
    with world.database.write() as session:
        assert ledger.mark_sending(session, ReportDelivery, *held_by(first), AFTER_DUE)
    taken_over = AFTER_DUE + ledger.CLAIM_LEASE + timedelta(seconds=1)
    second = new.claim_next(taken_over)
    assert second is not None and second.delivery_id == first.delivery_id
    with world.database.write() as session:
        late = (session, ReportDelivery, *held_by(first))
        assert not ledger.renew(*late, taken_over)
        assert ledger.mark_sent(*late, taken_over) is None
        assert ledger.mark_failed(*late, "late failure", taken_over) is None
        assert not ledger.mark_unknown(*late, "late", taken_over)
    [row] = [r for r in rows_of(world.database) if r.id == first.delivery_id]
    assert (row.status, row.claimed_by, row.unknown_outcomes) == ("claimed", "new", 1)
    assert row.last_error and "old" in row.last_error, "the abandoned upload is on record"


def test_a_renewed_claim_is_not_taken_over(world: World, tmp_path: Path) -> None:
    holder = service(world, tmp_path, "holder").claim_next(AFTER_DUE)
    assert holder is not None
    renewed_at = AFTER_DUE + ledger.CLAIM_LEASE * 3 / 4
    with world.database.write() as session:
        assert ledger.renew(session, ReportDelivery, *held_by(holder), renewed_at)
    other = service(world, tmp_path, "other")
    seen = set()
    while (item := other.claim_next(AFTER_DUE + ledger.CLAIM_LEASE * 3 / 2)) is not None:
        seen.add(item.delivery_id)
    assert holder.delivery_id not in seen and len(seen) == 3


def test_msbot_deliveries_lists_a_weeks_ledger_and_counts_unknown_outcomes(
    world: World, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = service(world, tmp_path).claim_next(AFTER_DUE)
    assert item is not None
    with world.database.write() as session:
        assert ledger.mark_sending(session, ReportDelivery, *held_by(item), AFTER_DUE)
        assert ledger.mark_unknown(
            session, ReportDelivery, *held_by(item), "ReadTimeout", AFTER_DUE
        )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MSBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MSBOT_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["deliveries", "--week", WEEK.label])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"deliveries of {WEEK.label}" and "status" in lines[1]
    rows = lines[2:6]
    assert sorted(row.split()[0] for row in rows) == ["A-01", "H-01", "M-01", "M-02"]
    [unknown] = [row for row in rows if " unknown " in row]
    assert "outcome unknown: ReadTimeout" in unknown
    assert sum(" pending " in row for row in rows) == 3
    assert "1 with an unknown outcome" in lines[6] and "--send" in lines[6]
