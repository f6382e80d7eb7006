"""The arrows between the packages run one way (README, "How it is built").

``checklists`` knows no database and no Telegram; ``storage``, ``visits`` and ``exports``
know no ``bot``; Telegram's types stay in the bot's outer layer; the application's modules
speak in ``Outcome`` and ``Reply``; nothing of the product imports the tests' kit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("checklists", "storage", "visits", "exports", "bot", "benchmarks", "testkit")
TELEGRAM_LAYER = {
    "bot/app.py",
    "bot/botapi.py",
    "bot/reports.py",
    "bot/outbox.py",
    "bot/ledger_send.py",
    "bot/markup.py",
    "bot/bootstrap.py",
    "bot/ordering.py",
}
"""The modules that may import python-telegram-bot (``bot/cli.py`` only for its errors)."""


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (lazy imports in functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("checklists", {"bot", "storage", "visits", "exports", "sqlalchemy", "telegram"}),
        ("storage", {"bot", "visits", "exports", "telegram"}),
        ("visits", {"bot", "exports", "telegram"}),
        ("exports", {"bot", "telegram"}),
    ],
)
def test_a_lower_package_imports_nothing_above_it(package: str, forbidden: set[str]) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(package)
        for name in imports_of(path)
        if top(name) in forbidden
    }
    assert wrong == set()


def test_telegram_is_imported_only_by_the_bots_outer_layer() -> None:
    wrong = {
        str(path.relative_to(ROOT))
        for path in modules("checklists", "storage", "visits", "exports", "bot")
        if any(top(name) == "telegram" for name in imports_of(path))
    }
    assert wrong - TELEGRAM_LAYER == {"bot/cli.py"}, "the command line names Telegram's errors"


def test_the_application_layer_knows_no_telegram_and_no_delivery() -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules("bot/service")
        for name in imports_of(path)
        if top(name) == "telegram" or name in ("bot.app", "bot.reports", "bot.bootstrap")
    }
    assert wrong == set()


def test_nothing_of_the_product_imports_the_tests() -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(*PACKAGES)
        for name in imports_of(path)
        if top(name) == "tests"
        or (top(name) == "testkit" and path.parts[len(ROOT.parts)] not in ("benchmarks", "testkit"))
    }
    assert wrong == set()
