"""Checklists as spreadsheets: converted both ways without changing what they say, read from
the checklist folder like YAML, every problem reported at its row, hostile files refused."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from bot.cli import main
from checklists import spreadsheet
from checklists.loader import SHIPPED_DIR, ChecklistError, load_all, load_file

SHIPPED = {loaded.checklist.id: loaded for loaded in load_all([SHIPPED_DIR])}
TEMPLATES = SHIPPED_DIR / "templates"


def convert(path: Path) -> Path:
    result = CliRunner().invoke(main, ["checklists", "convert", str(path)])
    assert result.exit_code == 0, result.output
    return path.with_suffix(".xlsx" if path.suffix == ".yaml" else ".yaml")


@pytest.mark.parametrize("checklist_id", sorted(SHIPPED))
def test_a_shipped_checklist_goes_to_a_workbook_and_back_unchanged(
    checklist_id: str, tmp_path: Path
) -> None:
    original = shutil.copy(SHIPPED_DIR / f"{checklist_id}.yaml", tmp_path / "c.yaml")
    workbook = convert(Path(original))
    back = tmp_path / "back"
    back.mkdir()
    again = convert(shutil.copy(workbook, back / "c.xlsx"))
    hashes = {load_file(p)[0].content_hash for p in (workbook, again)}  # type: ignore[union-attr]
    assert hashes == {SHIPPED[checklist_id].content_hash}


@pytest.mark.parametrize("checklist_id", sorted(SHIPPED))
def test_the_shipped_templates_say_what_the_shipped_checklists_say(checklist_id: str) -> None:
    loaded, problems = load_file(TEMPLATES / f"{checklist_id}.xlsx")
    assert problems == [] and loaded is not None
    assert loaded.content_hash == SHIPPED[checklist_id].content_hash


def test_a_folder_of_workbooks_is_read_like_a_folder_of_yaml(tmp_path: Path) -> None:
    for template in TEMPLATES.glob("*.xlsx"):
        shutil.copy(template, tmp_path)
    (tmp_path / "~$store_visit.xlsx").write_bytes(b"Excel's lock file")
    loaded = {c.checklist.id: c.content_hash for c in load_all([tmp_path])}
    assert loaded == {i: c.content_hash for i, c in SHIPPED.items()}


def _edited(tmp_path: Path, change: str) -> Path:
    """The store visit template with one change made as an operator would in Excel."""
    path = shutil.copy(TEMPLATES / "store_visit.xlsx", tmp_path / "store_visit.xlsx")
    workbook = openpyxl.load_workbook(path)
    items, options, checklist = workbook["items"], workbook["options"], workbook["checklist"]
    headers = [cell.value for cell in items[1]]
    match change:
        case "problems":
            items.cell(3, headers.index("type") + 1, "stars")  # the second item, row 3
            items.cell(5, headers.index("weight") + 1, -2)
            items.cell(7, headers.index("critical") + 1, "maybe")
            options.cell(2, 5, 7)  # the first option's score
            checklist.cell(6, 2, 120)  # pass_mark
        case "show_if":
            items.cell(6, headers.index("show_if") + 1, "{item: ghost, equals: yes}")
        case "bands":
            items.cell(8, headers.index("bands") + 1, "[{max: 30, score: 1}")
        case "require":  # row 3 is greeted: evidence for an answer it cannot have
            items.cell(3, headers.index("require") + 1, "[{when: maybe, photo: 1}]")
        case "hostile":  # a list where an answer goes, a cell of 32,000 letters, a key twice
            column = headers.index("require") + 1
            items.cell(3, column, "[{when: [no, yes], comment: true}]")
            items.cell(4, column, "A" * 32_000)
            items.cell(5, column, "[{when: no, comment: true, comment: false}]")
        case "russian":
            for column, russian in enumerate(("раздел", "название раздела ru"), start=1):
                items.cell(1, column, russian)
            items.cell(1, headers.index("type") + 1, "Тип")
            checklist.cell(5, 2, "магазин")  # the channel, in Russian
    workbook.save(path)
    return Path(path)


def test_every_problem_of_a_workbook_is_reported_at_its_row(tmp_path: Path) -> None:
    with pytest.raises(ChecklistError) as raised:
        load_all([_edited(tmp_path, "problems")])
    found = {(p.line, p.message.split(":")[0]) for p in raised.value.problems}
    messages = "\n".join(str(p) for p in raised.value.problems)
    assert (3, "item 'greeted'.type") in found, messages
    assert "'stars' is not one of" in messages
    assert any(line == 5 and "weight" in text for line, text in found), messages
    assert any(
        line == 7 and "'maybe' is not yes or no" in p.message
        for p in raised.value.problems
        for line in [p.line]
    )
    assert any(p.line == 2 and p.message.startswith("options sheet") for p in raised.value.problems)
    assert any(p.line == 6 and "checklist sheet" in p.message for p in raised.value.problems)
    assert all(
        str(p).startswith(f"{tmp_path / 'store_visit.xlsx'}:") for p in raised.value.problems
    )


def test_a_condition_on_no_earlier_item_and_a_broken_cell_are_reported_at_their_rows(
    tmp_path: Path,
) -> None:
    with pytest.raises(ChecklistError) as raised:
        load_all([_edited(tmp_path, "show_if")])
    [problem] = raised.value.problems
    assert problem.line == 6 and "'ghost', which is not an earlier item" in problem.message
    with pytest.raises(ChecklistError) as raised:
        load_all([_edited(tmp_path, "bands")])
    first = raised.value.problems[0]
    assert first.line == 8 and "is not a value as in YAML: expected ',' or ']'" in first.message
    assert all("\n" not in p.message for p in raised.value.problems)


def test_an_evidence_rule_is_read_from_its_cell_and_one_that_cannot_be_met_is_refused(
    tmp_path: Path,
) -> None:
    greeted = SHIPPED["store_visit"].checklist.item("greeted")
    assert [r.model_dump(exclude_defaults=True) for r in greeted.require or []] == [
        {"when": "no", "comment": True}
    ]
    with pytest.raises(ChecklistError) as raised:
        load_all([_edited(tmp_path, "require")])
    [problem] = raised.value.problems
    assert problem.line == 3 and "'maybe' is never an answer to 'greeted'" in problem.message


def test_hostile_cells_get_one_short_line_each_at_their_rows(tmp_path: Path) -> None:
    with pytest.raises(ChecklistError) as raised:
        load_all([_edited(tmp_path, "hostile")])
    by_row = {p.line: p.message for p in raised.value.problems}
    assert sorted(by_row) == [3, 4, 5], raised.value.problems
    assert "require.0.when: should be text or a number (got [False, True])" in by_row[3]
    assert "should be a valid list" in by_row[4]
    assert "key 'comment' appears twice" in by_row[5]
    assert all(len(p.message) < 200 and "\n" not in p.message for p in raised.value.problems)


def test_russian_headers_and_channel_names_are_read(tmp_path: Path) -> None:
    loaded, problems = load_file(_edited(tmp_path, "russian"))
    assert problems == [] and loaded is not None
    assert loaded.content_hash == SHIPPED["store_visit"].content_hash


def test_a_workbook_with_errors_is_not_converted_and_nothing_is_written(tmp_path: Path) -> None:
    path = _edited(tmp_path, "problems")
    result = CliRunner().invoke(main, ["checklists", "convert", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3: item 'greeted'.type" in result.output
    assert not path.with_suffix(".yaml").exists()


def test_convert_does_not_replace_a_file_unless_asked(tmp_path: Path) -> None:
    original = Path(shutil.copy(SHIPPED_DIR / "phone_call.yaml", tmp_path / "phone_call.yaml"))
    convert(original)
    again = CliRunner().invoke(main, ["checklists", "convert", str(original)])
    assert again.exit_code == 1 and "--force" in again.output
    forced = CliRunner().invoke(main, ["checklists", "convert", str(original), "--force"])
    assert forced.exit_code == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not a zip at all", "not an .xlsx workbook"),
        (b"x" * (spreadsheet.MAX_XLSX_BYTES + 1), "larger than 1024 KiB"),
    ],
)
def test_a_file_that_is_no_workbook_is_one_line(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "c.xlsx"
    path.write_bytes(content)
    loaded, problems = load_file(path)
    assert loaded is None and [p.line for p in problems] == [1]
    assert problem in problems[0].message


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"0" * (spreadsheet.MAX_UNPACKED_BYTES + 1))
    assert path.stat().st_size < spreadsheet.MAX_XLSX_BYTES
    loaded, problems = load_file(path)
    assert loaded is None and "unpacks to more than" in problems[0].message


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    checklist = SHIPPED["store_visit"].checklist
    hostile = checklist.model_copy(
        update={"title": checklist.title.model_copy(update={"en": '=HYPERLINK("x")'})}
    )
    path = tmp_path / "c.xlsx"
    spreadsheet.write(hostile, path)
    cell = openpyxl.load_workbook(path)["checklist"]["B4"]
    assert cell.value == '=HYPERLINK("x")' and cell.data_type == "s"
