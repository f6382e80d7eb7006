"""Checklists as spreadsheets, the form operations teams already edit (ODK's XLSForm is one).

A checklist workbook has three sheets, headers in English or Russian:

- ``checklist``: one field a row, its name in column A and its value in B (``id``,
  ``version``, ``title_ru``, ``title_en``, ``channel``, ``pass_mark``, ``description_ru``,
  ``description_en``);
- ``items``: one row an item, in order (``section_id``, ``section_ru``, ``section_en``,
  ``item_id``, ``type``, ``prompt_ru`` …); a section's title is taken from its first row;
- ``options``: one row an option of a ``choice`` or ``multi`` item (``item_id``,
  ``option_id``, ``label_ru``, ``label_en``, ``score``).

``show_if``, ``bands`` and ``require`` cells are written as in YAML, on one line
(``{item: greeted, equals: yes}``, ``[{max: 30, score: 1}, {score: 0}]``,
``[{when: no, comment: true}]``). Reading gives the
same mapping a YAML file gives, validated by the same schema; every problem points at the row
(``FILE.xlsx:ROW:``, with the sheet named when it is not ``items``). Writing uses XlsxWriter.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import xlsxwriter
import yaml

from checklists.schema import Checklist, Loc

MAX_XLSX_BYTES = 1024 * 1024
"""The shipped checklists are about 12 KB as workbooks; past this a file is a mistake."""
MAX_UNPACKED_BYTES = 16 * 1024 * 1024
"""A workbook is a zip: what it unpacks to is limited too (a "zip bomb" is refused)."""
MAX_ROWS = 2_000

TEXT_FIELDS = ("prompt", "standard", "hint", "start", "stop")
"""Item fields in both languages: ``prompt_ru`` and ``prompt_en`` in the sheet."""
ITEM_COLUMNS: dict[str, tuple[str, ...]] = {
    "section_id": ("section_id", "раздел"),
    "section_ru": ("section_ru", "название раздела ru"),
    "section_en": ("section_en", "название раздела en"),
    "item_id": ("item_id", "пункт"),
    "type": ("type", "тип"),
    "prompt_ru": ("prompt_ru", "вопрос ru"),
    "prompt_en": ("prompt_en", "вопрос en"),
    "standard_ru": ("standard_ru", "стандарт ru"),
    "standard_en": ("standard_en", "стандарт en"),
    "hint_ru": ("hint_ru", "подсказка ru"),
    "hint_en": ("hint_en", "подсказка en"),
    "weight": ("weight", "вес"),
    "critical": ("critical", "критичный"),
    "na": ("na", "можно не применимо"),
    "required": ("required", "обязательный"),
    "show_if": ("show_if", "показывать если"),
    "bands": ("bands", "шкала"),
    "require": ("require", "требует"),
    "action": ("action", "действие"),
    "min": ("min", "минимум"),
    "max": ("max", "максимум"),
    "max_photos": ("max_photos", "фото не больше"),
    "score_all": ("score_all", "все варианты"),
    "score_any": ("score_any", "любой вариант"),
    "start_ru": ("start_ru", "старт ru"),
    "start_en": ("start_en", "старт en"),
    "stop_ru": ("stop_ru", "стоп ru"),
    "stop_en": ("stop_en", "стоп en"),
}
OPTION_COLUMNS: dict[str, tuple[str, ...]] = {
    "item_id": ("item_id", "пункт"),
    "option_id": ("option_id", "вариант"),
    "label_ru": ("label_ru", "текст ru"),
    "label_en": ("label_en", "текст en"),
    "score": ("score", "балл"),
}
CHECKLIST_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("id", "код"),
    "version": ("version", "версия"),
    "title_ru": ("title_ru", "название ru"),
    "title_en": ("title_en", "название en"),
    "channel": ("channel", "канал"),
    "pass_mark": ("pass_mark", "проходной балл"),
    "description_ru": ("description_ru", "описание ru"),
    "description_en": ("description_en", "описание en"),
}
SHEETS = {"checklist": ("checklist", "чек-лист"), "items": ("items", "пункты")}
SHEETS["options"] = ("options", "варианты")
FLAGS = ("critical", "na", "required", "score_all", "score_any")
NUMBERS = ("weight", "min", "max", "max_photos")
STRUCTURED = ("show_if", "bands", "require")
ACTION_WORDS = {"required": "required", "обязательно": "required", "обязательное": "required"}
"""What an ``action`` cell may say (anything else is refused as the schema refuses it)."""
CHANNELS = {"магазин": "store", "телефон": "phone", "онлайн": "online", "чат": "online"}
_TRUE = frozenset({"yes", "y", "true", "1", "да", "д"})
_FALSE = frozenset({"no", "n", "false", "0", "нет", "н"})


class SpreadsheetProblems(Exception):
    """What is wrong with a workbook, each ``(row, message)``; row 1 for the file itself."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


@dataclass
class Places:
    """Where each part of a checklist read from a workbook was written, for ``loader``."""

    checklist_rows: dict[str, int] = field(default_factory=dict)
    item_rows: dict[tuple[int, int], int] = field(default_factory=dict)
    """(section, item) → its row in ``items``."""
    item_ids: dict[tuple[int, int], str] = field(default_factory=dict)
    option_rows: dict[tuple[int, int, int], int] = field(default_factory=dict)
    """(section, item, option) → its row in ``options``."""

    def locate(self, loc: Loc) -> tuple[int, str]:
        """The row of the deepest part of ``loc`` found, and a readable name for it."""
        if len(loc) >= 4 and loc[0] == "sections" and loc[2] == "items":
            where = (int(loc[1]), int(loc[3]))
            name = f"item '{self.item_ids.get(where, loc[3])}'"
            rest = [str(part) for part in loc[4:]]
            if len(loc) >= 6 and loc[4] == "options" and isinstance(loc[5], int):
                row = self.option_rows.get((*where, loc[5]), 1)
                return row, ".".join([f"options sheet, {name}", *map(str, loc[6:])])
            return self.item_rows.get(where, 1), ".".join([name, *rest])
        if len(loc) >= 2 and loc[0] == "sections" and isinstance(loc[1], int):
            first = min((row for (s, _), row in self.item_rows.items() if s == loc[1]), default=1)
            return first, ".".join(["section", *map(str, loc[2:])])
        key = str(loc[0]) if loc else ""
        row = self.checklist_rows.get(key) or self.checklist_rows.get(f"{key}_ru") or 1
        return row, ".".join(["checklist sheet", *map(str, loc)])


def read(
    path: Path, parse_value: Callable[[str, int], object]
) -> tuple[dict[str, Any], Places, list[tuple[int, str]]]:
    """The checklist mapping a workbook holds, where each part of it is, and what is wrong
    with its cells (the schema then finds the rest, so every problem is told at once);
    SpreadsheetProblems when it is no checklist workbook at all. ``parse_value`` reads a
    ``show_if``, ``bands`` or ``require`` cell at a row, None when it cannot."""
    _check_size(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is no workbook
        raise SpreadsheetProblems([(1, f"cannot read the workbook: {exc}")]) from None
    try:
        sheets = {name: _sheet(workbook, name) for name in SHEETS}
        problems: list[tuple[int, str]] = []
        places = Places()
        data = _checklist_fields(sheets["checklist"], places, problems)
        items = _table(sheets["items"], ITEM_COLUMNS, "items", problems)
        options = (
            _table(sheets["options"], OPTION_COLUMNS, "options", problems)
            if sheets["options"]
            else []
        )
    finally:
        workbook.close()
    data["sections"] = _sections(items, options, places, parse_value, problems)
    return data, places, problems


def _check_size(path: Path) -> None:
    if path.stat().st_size > MAX_XLSX_BYTES:
        raise SpreadsheetProblems(
            [
                (
                    1,
                    f"the file is larger than {MAX_XLSX_BYTES // 1024} KiB, "
                    "the limit for a checklist workbook",
                )
            ]
        )
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise SpreadsheetProblems([(1, f"not an .xlsx workbook: {exc}")]) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise SpreadsheetProblems(
            [(1, f"the workbook unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MiB")]
        )


def _sheet(workbook: Any, name: str) -> list[tuple[Any, ...]]:
    names = {_norm(sheet): sheet for sheet in workbook.sheetnames}
    found = next((names[_norm(n)] for n in SHEETS[name] if _norm(n) in names), None)
    if found is None:
        if name == "options":
            return []
        wanted = " or ".join(f"'{n}'" for n in SHEETS[name])
        raise SpreadsheetProblems([(1, f"the workbook has no sheet {wanted}")])
    rows = []
    for number, row in enumerate(workbook[found].iter_rows(values_only=True), start=1):
        if number > MAX_ROWS:
            raise SpreadsheetProblems(
                [(number, f"the '{found}' sheet has more than {MAX_ROWS} rows")]
            )
        rows.append(tuple(row))
    return rows


def _checklist_fields(
    rows: list[tuple[Any, ...]], places: Places, problems: list[tuple[int, str]]
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for number, row in enumerate(rows, start=1):
        name, value = (*row, None, None)[:2]
        key = _field_name(name, CHECKLIST_FIELDS)
        if key is None:
            if _text(name):
                problems.append((number, f"checklist sheet: '{_text(name)}' is not a known field"))
            continue
        places.checklist_rows[key] = number
        fields[key] = value
    data: dict[str, Any] = {}
    for key in ("id", "version", "channel", "pass_mark"):
        if fields.get(key) not in (None, ""):
            data[key] = (
                _number(fields[key]) if key in ("version", "pass_mark") else _text(fields[key])
            )
    if isinstance(data.get("channel"), str):
        data["channel"] = CHANNELS.get(data["channel"].lower(), data["channel"])
    for key in ("title", "description"):
        both = _both_languages(fields, key)
        if both is not None:
            data[key] = both
            places.checklist_rows.setdefault(key, places.checklist_rows.get(f"{key}_ru", 1))
    return data


def _table(
    rows: list[tuple[Any, ...]],
    columns: dict[str, tuple[str, ...]],
    sheet: str,
    problems: list[tuple[int, str]],
) -> list[tuple[int, dict[str, Any]]]:
    """The sheet's rows under its header (the first non-empty row), by field name."""
    numbered = [(n, row) for n, row in enumerate(rows, start=1) if any(_text(v) for v in row)]
    if not numbered:
        return []
    header_row, header = numbered[0]
    names: dict[int, str] = {}
    for index, title in enumerate(header):
        key = _field_name(title, columns)
        if key is not None:
            names[index] = key
        elif _text(title):
            problems.append(
                (header_row, f"{sheet} sheet: the column '{_text(title)}' is not a known one")
            )
    return [
        (number, {names[i]: value for i, value in enumerate(row) if i in names and _text(value)})
        for number, row in numbered[1:]
    ]


def _sections(
    items: list[tuple[int, dict[str, Any]]],
    options: list[tuple[int, dict[str, Any]]],
    places: Places,
    parse_value: Callable[[str, int], object],
    problems: list[tuple[int, str]],
) -> list[dict[str, Any]]:
    by_item: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for number, option in options:
        by_item.setdefault(_text(option.get("item_id")), []).append((number, option))
    sections: list[dict[str, Any]] = []
    for number, row in items:
        section_id = _text(row.get("section_id")) or (sections[-1]["id"] if sections else "")
        if not sections or sections[-1]["id"] != section_id:
            section: dict[str, Any] = {"id": section_id, "items": []}
            title = _both_languages(row, "section")
            if title is not None:
                section["title"] = title
            sections.append(section)
        s, i = len(sections) - 1, len(sections[-1]["items"])
        item = _item(row, number, parse_value, problems)
        places.item_rows[(s, i)] = number
        places.item_ids[(s, i)] = _text(row.get("item_id"))
        listed = by_item.pop(_text(row.get("item_id")), [])
        if listed:
            item["options"] = [_option(o) for _, o in listed]
            for k, (option_row, _) in enumerate(listed):
                places.option_rows[(s, i, k)] = option_row
        sections[-1]["items"].append(item)
    for item_id, listed in by_item.items():
        problems.append((listed[0][0], f"options sheet: '{item_id}' is no item of the items sheet"))
    return sections


def _item(
    row: dict[str, Any],
    number: int,
    parse_value: Callable[[str, int], object],
    problems: list[tuple[int, str]],
) -> dict[str, Any]:
    item: dict[str, Any] = {"id": _text(row.get("item_id")), "type": _text(row.get("type"))}
    for key in TEXT_FIELDS:
        both = _both_languages(row, key)
        if both is not None:
            item[key] = both
    for key in NUMBERS:
        if key in row:
            item[key] = _number(row[key])
    for key in FLAGS:
        if key in row:
            flag = _flag(row[key])
            if flag is None:
                problems.append(
                    (number, f"item '{item['id']}'.{key}: '{_text(row[key])}' is not yes or no")
                )
            else:
                item[key] = flag
    for key in STRUCTURED:
        value = parse_value(_text(row[key]), number) if key in row else None
        if value is not None:  # a cell that cannot be read has said so already
            item[key] = value
    action = _text(row.get("action"))
    if action:
        item["action"] = ACTION_WORDS.get(action.lower(), action)
    return item


def _option(row: dict[str, Any]) -> dict[str, Any]:
    option: dict[str, Any] = {"id": _text(row.get("option_id"))}
    label = _both_languages(row, "label")
    if label is not None:
        option["label"] = label
    if "score" in row:
        option["score"] = _number(row["score"])
    return option


def _both_languages(row: dict[str, Any], key: str) -> dict[str, str] | None:
    texts = {language: _text(row.get(f"{key}_{language}")) for language in ("ru", "en")}
    return {k: v for k, v in texts.items() if v} or None


def _field_name(title: object, columns: dict[str, tuple[str, ...]]) -> str | None:
    wanted = _norm(title)
    return next((key for key, names in columns.items() if wanted in map(_norm, names)), None)


def _norm(title: object) -> str:
    return re.sub(r"[\s_\-.]+", "", _text(title).lower())


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value).strip()


def _number(value: object) -> object:
    """A number as a number (the schema says what is wrong with anything else)."""
    if isinstance(value, bool | int | float):
        return value
    text = _text(value).replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number == int(number) else number


def _flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    return True if text in _TRUE else False if text in _FALSE else None


def write(checklist: Checklist, path: Path) -> None:
    """The checklist as a workbook an operator can edit and read back."""
    workbook = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_numbers": False}
    )
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrapped = workbook.add_format({"text_wrap": True, "valign": "top"})
    sheet = workbook.add_worksheet("checklist")
    rows: list[tuple[str, object]] = [
        ("id", checklist.id),
        ("version", checklist.version),
        ("title_ru", checklist.title.ru),
        ("title_en", checklist.title.en),
        ("channel", checklist.channel.value),
        ("pass_mark", checklist.pass_mark),
    ]
    if checklist.description is not None:
        rows += [
            ("description_ru", checklist.description.ru),
            ("description_en", checklist.description.en),
        ]
    for number, (name, value) in enumerate(rows):
        sheet.write_string(number, 0, name, header)
        _write(sheet, number, 1, value, wrapped)
        sheet.set_row(number, _height([(value, 60)]))
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 1, 60)
    items = workbook.add_worksheet("items")
    names = list(ITEM_COLUMNS)
    for column, name in enumerate(names):
        items.write_string(0, column, name, header)
    wide = range(names.index("prompt_ru"), names.index("hint_en") + 1)
    for number, values in enumerate(_item_rows(checklist), start=1):
        for column, name in enumerate(names):
            if values.get(name) not in (None, ""):
                _write(items, number, column, values[name], wrapped)
        cells = [
            (values.get(name), 40 if column in wide else 14) for column, name in enumerate(names)
        ]
        items.set_row(number, _height(cells))
    items.freeze_panes(1, 4)
    items.set_column(0, len(names) - 1, 14)
    items.set_column(wide.start, wide.stop - 1, 40)
    options = workbook.add_worksheet("options")
    for column, name in enumerate(OPTION_COLUMNS):
        options.write_string(0, column, name, header)
    number = 1
    for item in checklist.items:
        for option in item.options or []:
            row = [item.id, option.id, option.label.ru, option.label.en, option.score]
            for column, value in enumerate(row):
                if value is not None:
                    _write(options, number, column, value, wrapped)
            number += 1
    options.freeze_panes(1, 0)
    options.set_column(0, 4, 24)
    workbook.close()


def _item_rows(checklist: Checklist) -> Iterator[dict[str, object]]:
    for section in checklist.sections:
        for item in section.items:
            dumped = item.model_dump(mode="json", by_alias=True, exclude_none=True)
            values: dict[str, object] = {
                "section_id": section.id,
                "section_ru": section.title.ru,
                "section_en": section.title.en,
                "item_id": item.id,
                "type": item.type,
            }
            for key in TEXT_FIELDS:
                for language in ("ru", "en"):
                    values[f"{key}_{language}"] = (dumped.get(key) or {}).get(language)
            for key in (*NUMBERS, *FLAGS):
                if key in item.model_fields_set:
                    values[key] = dumped.get(key)
            if item.action is not None:
                values["action"] = item.action
            for key in STRUCTURED:
                if key in dumped:
                    values[key] = yaml.safe_dump(
                        dumped[key], default_flow_style=True, allow_unicode=True, width=10_000
                    ).strip()
            yield values


def _height(cells: list[tuple[object, int]]) -> float:
    """A row tall enough for its wrapped text (LibreOffice does not grow a row to fit it)."""
    lines = max((math.ceil(len(str(text)) / width) for text, width in cells if text), default=1)
    return 15.0 * max(1, lines)


def _write(sheet: Any, row: int, column: int, value: object, text_format: Any) -> None:
    if isinstance(value, bool):
        sheet.write_string(row, column, "yes" if value else "no")
    elif isinstance(value, int | float):
        sheet.write_number(row, column, value)
    else:
        sheet.write_string(row, column, str(value), text_format)


def write_yaml(checklist: Checklist, path: Path) -> None:
    """The checklist as a YAML file, fields left at their defaults left out."""
    data = checklist.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude_defaults=True
    )
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
    path.write_text(text, encoding="utf-8")
