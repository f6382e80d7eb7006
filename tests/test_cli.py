"""The admin command line, run as an operator would, on a real database file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.settings import SettingsError, load_settings
from checklists.loader import SHIPPED_DIR, load_all
from testkit.workbooks import store_codes_in


@pytest.fixture
def msbot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in ("MSBOT_DATABASE_URL", "MSBOT_CHECKLISTS_DIR", "MSBOT_TIMEZONE", "MSBOT_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MSBOT_DATA_DIR", str(tmp_path / "data"))
    return CliRunner()


def run(runner: CliRunner, *args: str, code: int = 0) -> Result:
    result = runner.invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_db_upgrade_creates_the_default_sqlite_file(msbot: CliRunner, tmp_path: Path) -> None:
    result = run(msbot, "db", "upgrade")
    assert "database is up to date" in result.output
    assert (tmp_path / "data" / "msbot.sqlite3").exists()


def test_checklists_list_shows_id_version_channel_and_item_count(msbot: CliRunner) -> None:
    lines = run(msbot, "checklists", "list").output.splitlines()
    assert lines[0].split() == ["id", "version", "channel", "items", "title"]
    store = next(line.split() for line in lines if line.startswith("store_visit"))
    shipped = next(c.checklist for c in load_all([SHIPPED_DIR]) if c.checklist.id == "store_visit")
    assert store[:4] == ["store_visit", f"v{shipped.version}", "store", str(len(shipped.items))]


def test_validate_prints_every_problem_as_file_line_message_and_exits_1(
    msbot: CliRunner, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    text = (SHIPPED_DIR / "store_visit.yaml").read_text(encoding="utf-8")
    bad.write_text(
        text.replace("pass_mark: 80", "pass_mark: 180").replace(
            "show_if: {item: greeted,", "show_if: {item: greetd,"
        ),
        encoding="utf-8",
    )
    result = run(msbot, "checklists", "validate", str(bad), code=1)
    problems = result.output.strip().splitlines()
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"{bad}:7: pass_mark: ")
    assert "'greetd', which is not an earlier item" in problems[1]


def test_validate_accepts_the_shipped_checklists(msbot: CliRunner) -> None:
    assert run(msbot, "checklists", "validate").output.count("ok  ") == 3


def test_a_bad_setting_is_reported_in_one_line_naming_it(
    msbot: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MSBOT_TIMEZONE", "Mars/Base")
    result = run(msbot, "people", "list", code=1)
    assert result.output.strip().splitlines() == [
        "Error: setting MSBOT_TIMEZONE is wrong: unknown time zone 'Mars/Base'; "
        "use a name like Europe/Moscow"
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MSBOT_LANGUAGE", "de"),
        ("MSBOT_REPORT_SCHEDULE", "0 9 * * 1"),
        ("MSBOT_ADMINS", "abc"),
        ("MSBOT_BOT_API_URL", "ftp://x"),
        ("MSBOT_BOT_TOKEN", "nonsense"),
        ("MSBOT_RESUBMIT_HOURS", "99999999999999999999"),
        ("MSBOT_CHECKIN_DISTANCE_M", "nan"),
        ("MSBOT_ADMINS", "١٢"),
    ],
)
def test_each_bad_setting_names_itself(
    msbot: CliRunner, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    result = run(msbot, "people", "list", code=1)
    assert result.output.startswith(f"Error: setting {name} is wrong: ")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MSBOT_RESUBMIT_HOURS", "99999999999999999999", "must be at most 2160 (hours)"),
        ("MSBOT_RESUBMIT_HOURS", "2161", "must be at most 2160 (hours), not '2161'"),
        ("MSBOT_RESUBMIT_HOURS", "0", "must be at least 1 (hours), not '0'"),
        ("MSBOT_RESUBMIT_HOURS", "١٢", "must be a whole number, not '١٢'"),
        ("MSBOT_REPEAT_VISIT_DAYS", "366", "must be at most 365 (days)"),
        ("MSBOT_REPEAT_VISIT_DAYS", "-1", "must be at least 0 (days)"),
        ("MSBOT_CHECKIN_DISTANCE_M", "100001", "must be at most 100000 (metres)"),
        ("MSBOT_CHECKIN_DISTANCE_M", "0", "must be more than 0 (metres)"),
        ("MSBOT_CHECKIN_DISTANCE_M", "nan", "must be a finite number, not 'nan'"),
        ("MSBOT_CHECKIN_DISTANCE_M", "inf", "must be a finite number, not 'inf'"),
        ("MSBOT_MIN_SECONDS_PER_ITEM", "601", "must be at most 600 (seconds)"),
        ("MSBOT_MIN_SECONDS_PER_ITEM", "-1", "must be at least 0 (seconds)"),
        ("MSBOT_MIN_SECONDS_PER_ITEM", "-inf", "must be a finite number"),
        ("MSBOT_MIN_SECONDS_PER_ITEM", "1e400", "must be a finite number"),
        ("MSBOT_ADMINS", "١٢", "'١٢' is not a comma-separated list of Telegram user ids"),
        ("MSBOT_ADMINS", "5, ²", "'5, ²' is not a comma-separated list of Telegram user ids"),
        ("MSBOT_ADMINS", "0", "must be at least 1 (Telegram user ids)"),
        ("MSBOT_ADMINS", str(2**63), "must be at most 9223372036854775807 (Telegram user ids)"),
    ],
)
def test_a_number_setting_out_of_bounds_is_refused_in_one_line_naming_it(
    msbot: CliRunner, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    [line] = str(refused.value).splitlines()
    assert line.startswith(f"setting {name} is wrong: {message}"), line


def test_number_settings_at_their_bounds_are_accepted(
    msbot: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in [
        ("MSBOT_RESUBMIT_HOURS", "2160"),
        ("MSBOT_REPEAT_VISIT_DAYS", "365"),
        ("MSBOT_CHECKIN_DISTANCE_M", "100000"),
        ("MSBOT_MIN_SECONDS_PER_ITEM", "600"),
        ("MSBOT_ADMINS", f"1, {2**63 - 1}"),
    ]:
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.integrity_rules.resubmit_hours == 24 * 90
    assert settings.integrity_rules.repeat_days == 365
    assert settings.checkin_distance_m == 100_000 and settings.min_seconds_per_item == 600
    assert settings.admins == [1, 2**63 - 1]


def test_a_setting_out_of_bounds_stops_the_program_with_one_line(
    msbot: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MSBOT_RESUBMIT_HOURS", "99999999999999999999")
    result = run(msbot, "people", "list", code=1)
    assert result.output.strip().splitlines() == [
        "Error: setting MSBOT_RESUBMIT_HOURS is wrong: "
        "must be at most 2160 (hours), not '99999999999999999999'"
    ]


def test_settings_come_from_a_dot_env_file(msbot: CliRunner, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MSBOT_LANGUAGE=en\n", encoding="utf-8")
    assert "Store visit" in run(msbot, "checklists", "list").output


def test_import_dry_run_then_real_import_then_invite_and_list(
    msbot: CliRunner, tmp_path: Path
) -> None:
    stores = write_csv(
        tmp_path / "stores.csv",
        [
            ["код", "название", "адрес", "широта", "долгота"],
            ["S1", "Тверская", "Москва, Тверская, 1", "55,76", "37,61"],
        ],
    )
    staff = write_csv(
        tmp_path / "staff.csv",
        [
            ["store_code", "code", "name", "position"],
            ["S1", "E1", "Анна", "Продавец"],
        ],
    )
    dry = run(msbot, "import", "stores", str(stores), "--dry-run").output
    assert "would add S1" in dry
    assert "would add E1" not in run(msbot, "import", "staff", str(staff), code=1).output
    assert "added S1" in run(msbot, "import", "stores", str(stores)).output
    assert "added E1" in run(msbot, "import", "staff", str(staff)).output
    assert "1 unchanged" in run(msbot, "import", "stores", str(stores)).output
    invite = run(msbot, "invite", "manager", "--store", "S1").output
    code = invite.split()[1]
    assert f"https://t.me/<your_bot>?start={code}" in invite
    assert (
        "Error: unknown store code(s): S9"
        in run(msbot, "invite", "evaluator", "--store", "S9", code=1).output
    )
    assert "needs at least one --store" in run(msbot, "invite", "manager", code=1).output
    assert run(msbot, "people", "list").output.strip() == "(none)"


def test_a_bad_roster_row_is_reported_and_nothing_is_imported(
    msbot: CliRunner, tmp_path: Path
) -> None:
    stores = write_csv(
        tmp_path / "stores.csv",
        [
            ["code", "name", "latitude", "longitude"],
            ["S1", "One", "55", "37"],
            ["S2", "Two", "95", "37"],
        ],
    )
    result = run(msbot, "import", "stores", str(stores), code=1)
    assert f"{stores}: row 3: latitude" in result.output
    assert "nothing was imported" in result.output
    dry_run = run(msbot, "import", "stores", str(stores), "--dry-run", code=1).output
    assert "row 3: latitude" in dry_run and "would add" not in dry_run
    good = write_csv(tmp_path / "good.csv", [["code", "name"], ["S1", "One"]])
    assert "would add S1" in run(msbot, "import", "stores", str(good), "--dry-run").output


def test_demo_data_is_reproducible_for_a_seed(msbot: CliRunner, tmp_path: Path) -> None:
    args = ("demo-data", "--stores", "3", "--visits", "40", "--weeks", "2", "--seed", "7")
    first = run(msbot, *args).output
    assert "3 stores" in first and "40 visits" in first
    from storage.db import Database

    database = Database(f"sqlite:///{tmp_path / 'data' / 'msbot.sqlite3'}")
    with database.engine.connect() as connection:
        scores = connection.exec_driver_sql("SELECT score FROM visit ORDER BY id").scalars().all()
    database.dispose()
    (tmp_path / "data" / "msbot.sqlite3").rename(tmp_path / "first.sqlite3")
    run(msbot, *args)
    database = Database(f"sqlite:///{tmp_path / 'data' / 'msbot.sqlite3'}")
    with database.engine.connect() as connection:
        again = connection.exec_driver_sql("SELECT score FROM visit ORDER BY id").scalars().all()
    database.dispose()
    assert scores == again and len(scores) == 40


def test_report_writes_workbooks_for_each_scope_and_prints_their_paths(
    msbot: CliRunner, tmp_path: Path
) -> None:
    run(msbot, "demo-data", "--stores", "3", "--visits", "60", "--weeks", "2")
    result = run(
        msbot,
        "report",
        "--scope",
        "all",
        "--scope",
        "hr",
        "--scope",
        "store:D001",
        "--out",
        str(tmp_path / "out"),
    )
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert [p.name.split("-", 2)[-1] for p in paths] == [
        "all-ru.xlsx",
        "hr-ru.xlsx",
        "store-D001-ru.xlsx",
    ]
    assert all(p.exists() and p.stat().st_size > 5000 for p in paths)

    assert store_codes_in(paths[2].read_bytes()) == {"D001"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-47"], "not an ISO week"),
        (["--week", "2999-W01"], "has not ended yet"),
        (["--scope", "store:NOPE"], "unknown store code(s): NOPE"),
        (["--scope", "everyone"], "not a scope"),
        (["--send"], "--send needs MSBOT_BOT_TOKEN"),
    ],
)
def test_report_refuses_bad_arguments_with_a_clear_message(
    msbot: CliRunner, args: list[str], message: str
) -> None:
    assert message in run(msbot, "report", *args, code=1).output


def test_backup_and_void_from_the_command_line(msbot: CliRunner, tmp_path: Path) -> None:
    run(msbot, "demo-data", "--stores", "2", "--visits", "5", "--weeks", "1")
    written = run(msbot, "backup", str(tmp_path / "backups")).output
    assert "backup written:" in written
    assert list((tmp_path / "backups").glob("msbot-*.sqlite3"))
    assert "visit 3 is void: duplicate" in run(msbot, "void", "3", "--reason", "duplicate").output
    assert "already void" in run(msbot, "void", "3", "--reason", "again", code=1).output
    assert "Missing option '--reason'" in run(msbot, "void", "4", code=2).output


def test_assign_one_or_many_and_list_the_open_and_overdue_ones(
    msbot: CliRunner, tmp_path: Path
) -> None:
    run(msbot, "demo-data", "--stores", "2", "--visits", "1", "--weeks", "1")
    assigned = run(
        msbot,
        "assign",
        "--store",
        "D001",
        "--checklist",
        "store_visit",
        "--evaluator",
        "E-01",
        "--from",
        "2026-01-05",
        "--to",
        "2026-01-09",
    )
    assert "assigned 1 visit(s): #1" in assigned.output
    bulk = write_csv(
        tmp_path / "a.csv",
        [
            ["store_code", "checklist", "evaluator", "from", "to"],
            ["D002", "phone_call", "E-02", "2099-01-01", "2099-01-31"],
        ],
    )
    assert "assigned 1 visit(s): #2" in run(msbot, "assign", "--file", str(bulk)).output
    bad = run(
        msbot,
        "assign",
        "--store",
        "D404",
        "--checklist",
        "fax",
        "--evaluator",
        "E-01",
        "--from",
        "2026-01-05",
        "--to",
        "2026-01-01",
        code=1,
    ).output
    assert "unknown store code 'D404'" in bad and "unknown checklist 'fax'" in bad
    assert "nothing was assigned" in bad
    assert "give --file" in run(msbot, "assign", "--store", "D001", code=2).output
    listed = run(msbot, "assignments").output.splitlines()
    assert [line.split()[0] for line in listed[1:]] == ["#1", "#2"]
    overdue = run(msbot, "assignments", "--overdue").output.splitlines()
    assert [line.split()[:2] for line in overdue[1:]] == [["#1", "D001"]]
