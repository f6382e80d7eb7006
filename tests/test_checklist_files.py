"""The checklist file format: every validation rule has a failing example, reported at its line."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from checklists.loader import SHIPPED_DIR, ChecklistError, load_all, load_file

Mutation = Callable[[dict[str, Any]], None]

VALID: dict[str, Any] = {
    "id": "mini",
    "version": 1,
    "title": {"ru": "Мини", "en": "Mini"},
    "channel": "store",
    "pass_mark": 80,
    "sections": [
        {
            "id": "main",
            "title": {"ru": "Главное", "en": "Main"},
            "items": [
                {
                    "id": "wait",
                    "type": "timer",
                    "prompt": {"ru": "Секунды?", "en": "Seconds?"},
                    "weight": 2,
                    "bands": [{"max": 30, "score": 1}, {"max": 60, "score": 0.5}, {"score": 0}],
                },
                {
                    "id": "greeted",
                    "type": "yes_no",
                    "prompt": {"ru": "Поздоровались?", "en": "Greeted?"},
                    "critical": True,
                },
                {
                    "id": "tidy",
                    "type": "choice",
                    "prompt": {"ru": "Чисто?", "en": "Tidy?"},
                    "options": [
                        {"id": "clean", "label": {"ru": "Чисто", "en": "Clean"}, "score": 1},
                        {"id": "messy", "label": {"ru": "Грязно", "en": "Messy"}, "score": 0},
                    ],
                },
                {
                    "id": "photo",
                    "type": "photo",
                    "prompt": {"ru": "Фото", "en": "Photo"},
                },
                {
                    "id": "note",
                    "type": "text",
                    "prompt": {"ru": "Комментарий", "en": "Comment"},
                },
            ],
        }
    ],
}


def item(data: dict[str, Any], item_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in data["sections"][0]["items"] if i["id"] == item_id)
    return found


def write(tmp_path: Path, data: Any, name: str = "mini.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[tuple[str, str]]:
    """(message, text of the reported line) for every problem found in the file."""
    loaded, problems = load_file(path)
    assert loaded is None, "the file was expected to be refused"
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(p.message, lines[p.line - 1].strip()) for p in problems]


def test_the_minimal_example_is_valid(tmp_path: Path) -> None:
    loaded, problems = load_file(write(tmp_path, VALID))
    assert problems == []
    assert loaded is not None
    assert [i.id for i in loaded.checklist.items] == ["wait", "greeted", "tidy", "photo", "note"]


def _set(path: list[str | int], value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        target: Any = data
        for part in path[:-1]:
            target = (
                target[part] if not isinstance(part, str) or part in target else item(data, part)
            )
        target[path[-1]] = value

    return mutate


def _on_item(item_id: str, **changes: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        target = item(data, item_id)
        for key, value in changes.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value

    return mutate


def _add_item(**fields: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["sections"][0]["items"].append(
            {"prompt": {"ru": "Вопрос", "en": "Question"}, **fields}
        )

    return mutate


RULES: list[tuple[str, Mutation, str, str]] = [
    (
        "a missing field",
        _on_item("greeted", prompt=None),
        "required field 'prompt'",
        "- id: greeted",
    ),
    (
        "an unknown field",
        _on_item("greeted", colour="red"),
        "'colour' is not a known field",
        "colour: red",
    ),
    ("a bad id", _on_item("greeted", id="Greeted!"), "is not a valid id", "- id: Greeted!"),
    (
        "a label in one language",
        _on_item("greeted", prompt={"ru": "Привет?"}),
        "required field 'en'",
        "prompt:",
    ),
    (
        "an empty label",
        _on_item("greeted", prompt={"ru": " ", "en": "Hi?"}),
        "at least 1 character",
        "ru: ' '",
    ),
    ("an unknown type", _on_item("greeted", type="stars"), "'stars' is not one of", "type: stars"),
    (
        "a negative weight",
        _on_item("greeted", weight=-1),
        "greater than or equal to 0",
        "weight: -1",
    ),
    (
        "a weight on a text item",
        _on_item("note", weight=1),
        "not scored, so its weight must be 0",
        "- id: note",
    ),
    ("a critical photo", _on_item("photo", critical=True), "cannot be critical", "- id: photo"),
    ("a timer without bands", _on_item("wait", bands=None), "needs 'bands'", "- id: wait"),
    (
        "bands on a yes/no",
        _on_item("greeted", bands=[{"score": 1}]),
        "takes no 'bands'",
        "- id: greeted",
    ),
    (
        "bands that stop short",
        _on_item("wait", bands=[{"max": 30, "score": 1}]),
        "bands stop at 30 but answers go up to 900",
        "- id: wait",
    ),
    (
        "bands of mixed kinds",
        _on_item("wait", bands=[{"max": 30, "score": 1}, {"min": 60, "score": 0}, {"score": 0}]),
        "not a mix",
        "- id: wait",
    ),
    (
        "bands out of order",
        _on_item("wait", bands=[{"max": 60, "score": 1}, {"max": 30, "score": 0.5}, {"score": 0}]),
        "must rise",
        "- id: wait",
    ),
    (
        "falling bands out of order",
        _add_item(
            id="yeses",
            type="count",
            max=20,
            bands=[{"min": 2, "score": 0.5}, {"min": 3, "score": 1}, {"score": 0}],
        ),
        "must fall",
        "- prompt:",
    ),
    (
        "a catch-all band before the end",
        _on_item("wait", bands=[{"score": 0}, {"max": 30, "score": 1}]),
        "only the last band",
        "- id: wait",
    ),
    (
        "a band with two bounds",
        _on_item("wait", bands=[{"max": 30, "min": 1, "score": 1}, {"score": 0}]),
        "either 'max' or 'min'",
        "- max: 30",
    ),
    (
        "a band scoring over 1",
        _on_item("wait", bands=[{"max": 30, "score": 2}, {"score": 0}]),
        "less than or equal to 1",
        "score: 2",
    ),
    (
        "a choice with one option",
        _on_item("tidy", options=[{"id": "clean", "label": {"ru": "Ч", "en": "C"}, "score": 1}]),
        "at least two 'options'",
        "- id: tidy",
    ),
    (
        "a repeated option id",
        _on_item(
            "tidy",
            options=[
                {"id": "a", "label": {"ru": "А", "en": "A"}, "score": 1},
                {"id": "a", "label": {"ru": "Б", "en": "B"}, "score": 0},
            ],
        ),
        "option id 'a' is used twice",
        "- id: tidy",
    ),
    (
        "an unscored option of a scored choice",
        _on_item(
            "tidy",
            options=[
                {"id": "a", "label": {"ru": "А", "en": "A"}, "score": 1},
                {"id": "b", "label": {"ru": "Б", "en": "B"}},
            ],
        ),
        "needs a 'score'",
        "- id: tidy",
    ),
    (
        "options on a yes/no",
        _on_item("greeted", options=[{"id": "a", "label": {"ru": "А", "en": "A"}}]),
        "takes no 'options'",
        "- id: greeted",
    ),
    (
        "a count without max",
        _add_item(id="yeses", type="count", bands=[{"score": 1}]),
        "needs 'max'",
        "- prompt:",
    ),
    ("min on a yes/no", _on_item("greeted", min=1), "takes no 'min' or 'max'", "- id: greeted"),
    (
        "min above max",
        _add_item(id="rating", type="scale", min=5, max=1),
        "'min' (5) must be less than 'max' (1)",
        "- prompt:",
    ),
    ("max_photos on text", _on_item("note", max_photos=2), "only a 'photo' item", "- id: note"),
    (
        "show_if on a later item",
        _on_item("greeted", show_if={"item": "tidy", "equals": "clean"}),
        "'tidy', which is not an earlier item",
        "show_if:",
    ),
    (
        "show_if on an unknown item",
        _on_item("tidy", show_if={"item": "ghost", "equals": "yes"}),
        "'ghost', which is not an earlier item",
        "show_if:",
    ),
    (
        "show_if with an impossible value",
        _on_item("tidy", show_if={"item": "greeted", "equals": "maybe"}),
        "'maybe' is never an answer to 'greeted'",
        "show_if:",
    ),
    (
        "show_if beyond a timer's range",
        _on_item("greeted", show_if={"item": "wait", "in": [10, 5000]}),
        "5000 is never an answer to 'wait'",
        "show_if:",
    ),
    (
        "show_if on a text item",
        _add_item(id="after", type="yes_no", show_if={"item": "note", "equals": "x"}),
        "cannot depend on 'note'",
        "show_if:",
    ),
    (
        "show_if with two conditions",
        _on_item("tidy", show_if={"item": "greeted", "equals": "yes", "in": ["no"]}),
        "exactly one of 'equals' or 'in'",
        "show_if:",
    ),
    (
        "a condition of two forms at once",
        _on_item(
            "tidy",
            show_if={
                "item": "greeted",
                "equals": "yes",
                "any": [{"item": "greeted", "equals": "no"}],
            },
        ),
        "a condition is one of",
        "show_if:",
    ),
    (
        "an empty 'all'",
        _on_item("tidy", show_if={"all": []}),
        "at least 1 item",
        "all: []",
    ),
    (
        "'equals' without an item inside 'not'",
        _on_item("tidy", show_if={"not": {"equals": "yes"}}),
        "a condition is one of",
        "not:",
    ),
    (
        "a nested condition on a later item",
        _on_item(
            "greeted",
            show_if={
                "all": [
                    {"item": "wait", "in": [10]},
                    {"any": [{"item": "tidy", "equals": "clean"}]},
                ]
            },
        ),
        "'tidy', which is not an earlier item",
        "show_if:",
    ),
    (
        "an impossible value deep inside 'not'",
        _on_item("tidy", show_if={"any": [{"not": {"item": "greeted", "equals": "maybe"}}]}),
        "'maybe' is never an answer to 'greeted'",
        "show_if:",
    ),
    (
        "a repeated item id",
        _add_item(id="greeted", type="yes_no"),
        "item id 'greeted' is used twice",
        "id: greeted",
    ),
    (
        "a pass mark over 100",
        _set(["pass_mark"], 120),
        "less than or equal to 100",
        "pass_mark: 120",
    ),
    ("version 0", _set(["version"], 0), "greater than or equal to 1", "version: 0"),
    ("an unknown channel", _set(["channel"], "fax"), "'fax' is not one of", "channel: fax"),
    ("no sections", _set(["sections"], []), "at least 1 item", "sections: []"),
]


@pytest.mark.parametrize(
    ("mutation", "message", "line_text"),
    [pytest.param(m, msg, line, id=name) for name, m, msg, line in RULES],
)
def test_each_rule_is_reported_at_its_line_in_a_plain_sentence(
    tmp_path: Path, mutation: Mutation, message: str, line_text: str
) -> None:
    data = copy.deepcopy(VALID)
    mutation(data)
    found = problems_of(write(tmp_path, data))
    assert any(message in msg and text.startswith(line_text) for msg, text in found), found


def test_a_repeated_section_id_is_reported(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    data["sections"].append(
        {
            "id": "main",
            "title": {"ru": "Ещё", "en": "More"},
            "items": [{"id": "other", "type": "yes_no", "prompt": {"ru": "Да?", "en": "Yes?"}}],
        }
    )
    found = problems_of(write(tmp_path, data))
    assert any("section id 'main' is used twice" in msg for msg, _ in found), found


def test_a_checklist_without_scored_items_is_refused(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    data["sections"][0]["items"] = [item(data, "note")]
    found = problems_of(write(tmp_path, data))
    assert any("no scored item" in msg for msg, _ in found), found


def test_every_problem_in_a_file_is_reported_not_only_the_first(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    item(data, "greeted")["weight"] = -3
    item(data, "note")["colour"] = "red"
    data["pass_mark"] = 101
    found = problems_of(write(tmp_path, data))
    assert len(found) == 3, found


def test_every_cross_item_problem_is_reported(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    _add_item(id="greeted", type="yes_no")(data)
    _on_item("tidy", show_if={"item": "ghost", "equals": "yes"})(data)
    messages = [msg for msg, _ in problems_of(write(tmp_path, data))]
    assert len(messages) == 2, messages


def test_a_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nversion: 1\ntitle: {ru: a, en: b\nchannel: store\n", encoding="utf-8")
    loaded, problems = load_file(path)
    assert loaded is None
    assert len(problems) == 1
    assert problems[0].message.startswith("not valid YAML")
    assert problems[0].line == 4
    assert str(problems[0]).startswith(f"{path}:4: ")


def test_a_key_given_twice_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    path.write_text(path.read_text(encoding="utf-8") + "pass_mark: 70\n", encoding="utf-8")
    found = problems_of(path)
    assert ("key 'pass_mark' appears twice", "pass_mark: 70") in found


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    found = problems_of(write(tmp_path, ["a", "b"]))
    assert found[0][0] == "the file must hold one checklist, a mapping of fields"


def test_bare_yes_in_show_if_means_the_answer_yes(tmp_path: Path) -> None:
    data = copy.deepcopy(VALID)
    _on_item("tidy", show_if={"item": "greeted", "equals": True})(data)
    loaded, problems = load_file(write(tmp_path, data))
    assert problems == []
    assert loaded is not None
    condition = loaded.checklist.item("tidy").show_if
    assert condition is not None and condition.values == ["yes"]


def test_two_files_with_one_checklist_id_are_refused(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, VALID, "b.yaml")
    with pytest.raises(ChecklistError) as raised:
        load_all([tmp_path])
    assert "checklist id 'mini' is also used by" in str(raised.value)


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ChecklistError, match="no checklist files"):
        load_all([tmp_path])


def test_the_shipped_checklists_are_valid_and_cover_every_channel() -> None:
    loaded = load_all([SHIPPED_DIR])
    by_id = {item.checklist.id: item.checklist for item in loaded}
    assert set(by_id) == {"store_visit", "phone_call", "online_chat"}
    assert {c.channel.value for c in by_id.values()} == {"store", "phone", "online"}
    store = by_id["store_visit"]
    greet_time = store.item("greet_time")
    assert greet_time.type == "timer"
    assert greet_time.bands is not None and greet_time.bands[0].max == 30
    assert store.item("greeted").critical
    three_yes = store.item("three_yes")
    assert three_yes.na and three_yes.bands is not None and three_yes.bands[0].min == 3
    assert store.item("nps").type == "nps" and not store.item("nps").scored
    chat = by_id["online_chat"]
    first_reply = next(i for i in chat.items if i.type == "timer")
    assert first_reply.bands is not None and first_reply.bands[0].max == 20


# Limits on hostile files, as an operator would read them in the refusal: written out
# here rather than imported, so that the tests say what the limits are.
LIMIT_BYTES = 256 * 1024
LIMIT_VALUES = 10_000
LIMIT_DEPTH = 50
SECOND = 1.0


def alias_bomb(levels: int, width: int) -> str:
    """A "billion laughs": each line repeats the list before it ``width`` times."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def written(tmp_path: Path, text: str, name: str = "hostile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> tuple[str, str]:
    """(message, text of the reported line) of the one problem found, within a second."""
    started = time.perf_counter()
    loaded, problems = load_file(path)
    elapsed = time.perf_counter() - started
    assert loaded is None, "the file was expected to be refused"
    assert elapsed < SECOND, f"took {elapsed:.1f} s"
    assert len(problems) == 1, problems
    with path.open(encoding="utf-8", errors="replace") as file:
        lines = file.read(LIMIT_BYTES).splitlines() or [""]
    return problems[0].message, lines[problems[0].line - 1].strip()


def test_a_yaml_alias_bomb_is_refused_within_a_second_with_the_line(tmp_path: Path) -> None:
    message, line = refusal(written(tmp_path, alias_bomb(levels=7, width=10)))
    assert "'*l2'" in message and f"{LIMIT_VALUES:,} values" in message, message
    assert line.startswith("l3: &l3 [*l2"), line


def test_an_alias_inside_the_node_it_names_is_refused_not_a_traceback(tmp_path: Path) -> None:
    text = "id: mini\nloop: &loop [a, [b, *loop]]\n"
    message, line = refusal(written(tmp_path, text))
    assert "'*loop' is inside the node it repeats" in message, message
    assert line.startswith("loop:"), line


def test_aliases_nesting_deeper_than_the_limit_are_refused_at_the_alias(tmp_path: Path) -> None:
    deep = 30
    text = f"l0: &l0 {'[' * deep}x{']' * deep}\nl1: {'[' * deep}*l0{']' * deep}\n"
    message, line = refusal(written(tmp_path, text))
    assert "'*l0'" in message and f"{LIMIT_DEPTH} levels" in message, message
    assert line.startswith("l1:"), line


def test_a_few_aliases_and_merge_keys_read_as_if_written_out(tmp_path: Path) -> None:
    text = """\
id: mini
version: 1
title: &title {ru: Мини, en: Mini}
channel: store
pass_mark: 80
sections:
  - id: main
    title: *title
    items:
      - &greeted
        id: greeted
        type: yes_no
        prompt: {ru: Поздоровались, en: Greeted}
        weight: 2
      - <<: *greeted
        id: smiled
        weight: 1
"""
    loaded, problems = load_file(written(tmp_path, text, "aliases.yaml"))
    assert problems == []
    assert loaded is not None
    assert [(i.id, i.weight) for i in loaded.checklist.items] == [("greeted", 2), ("smiled", 1)]
    expanded, _ = load_file(write(tmp_path, json.loads(json.dumps(yaml.safe_load(text)))))
    assert expanded is not None and expanded.content_hash == loaded.content_hash


@pytest.mark.parametrize(
    ("text", "line_start"),
    [
        pytest.param("[" * 100_000 + "]" * 100_000, "[[[", id="100000 lists"),
        pytest.param("{a: " * 5_000 + "b" + "}" * 5_000, "{a: {a:", id="5000 flow mappings"),
        pytest.param(
            "".join(f"{'  ' * n}a{n}:\n" for n in range(60)) + "  " * 60 + "end\n",
            "a50:",
            id="60 block mappings",
        ),
    ],
)
def test_nesting_deeper_than_the_limit_is_refused_not_a_traceback(
    tmp_path: Path, text: str, line_start: str
) -> None:
    message, line = refusal(written(tmp_path, text))
    assert f"deeper than {LIMIT_DEPTH} levels" in message, message
    assert line.startswith(line_start), line


def test_nesting_up_to_the_limit_is_read_as_usual(tmp_path: Path) -> None:
    path = written(tmp_path, "[" * LIMIT_DEPTH + "]" * LIMIT_DEPTH)
    assert refusal(path)[0] == "the file must hold one checklist, a mapping of fields"


def padded(tmp_path: Path, size: int) -> Path:
    """The minimal example, grown to ``size`` bytes by a comment at its end."""
    path = write(tmp_path, VALID)
    text = path.read_text(encoding="utf-8")
    padding = size - len(text.encode()) - len("#\n")
    path.write_text(text + "#" + "x" * padding + "\n", encoding="utf-8")
    assert path.stat().st_size == size
    return path


def test_a_checklist_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    message, line = refusal(padded(tmp_path, LIMIT_BYTES + 1))
    assert message.startswith("the file is larger than 256 KiB"), message
    assert line == "id: mini"


def test_a_checklist_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    loaded, problems = load_file(padded(tmp_path, LIMIT_BYTES))
    assert problems == [] and loaded is not None


def _sparse(path: Path) -> None:
    """A file of 64 MiB of zero bytes that takes no room on the disk."""
    with path.open("wb") as file:
        file.truncate(256 * LIMIT_BYTES)


def test_a_huge_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    _sparse(path)
    assert refusal(path)[0].startswith("the file is larger than 256 KiB")


@pytest.mark.parametrize(
    "value",
    ["!!int eighty", "!!int ''", "!!float lots", "!!bool maybe", "!!timestamp soon", "2024-13-01"],
)
def test_a_value_its_tag_cannot_read_is_refused_at_its_line(tmp_path: Path, value: str) -> None:
    path = write(tmp_path, VALID)
    text = path.read_text(encoding="utf-8").replace("pass_mark: 80", f"pass_mark: {value}")
    message, line = refusal(written(tmp_path, text))
    assert message.startswith("not valid YAML: cannot read "), message
    assert line == f"pass_mark: {value}"


def test_a_control_character_is_refused_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    text = path.read_text(encoding="utf-8").replace("pass_mark: 80", "pass_mark: 8\a0")
    message, line = refusal(written(tmp_path, text))
    assert message.startswith("not valid YAML: unacceptable character #x0007"), message
    assert line.startswith("pass_mark: 8")


@pytest.mark.parametrize(
    ("make", "line", "says"),
    [
        pytest.param(lambda p: p.write_text(alias_bomb(9, 9)), 5, "'*l3'", id="alias bomb"),
        pytest.param(lambda p: p.write_text("[" * 100_000 + "]" * 100_000), 1, "levels", id="deep"),
        pytest.param(_sparse, 1, "256 KiB", id="huge"),
    ],
)
def test_validate_refuses_a_hostile_file_in_one_line_and_exits_1_within_seconds(
    tmp_path: Path, make: Callable[[Path], object], line: int, says: str
) -> None:
    """The real command, in its own process: a regression times out instead of hanging."""
    path = tmp_path / "hostile.yaml"
    make(path)
    command = [sys.executable, "-m", "bot", "checklists", "validate", str(path)]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("msbot checklists validate was still running after 30 s")
    elapsed = time.perf_counter() - started
    assert done.returncode == 1, done.stderr
    problems = done.stderr.splitlines()
    assert len(problems) == 1, done.stderr
    assert problems[0].startswith(f"{path}:{line}: ") and says in problems[0], problems
    assert elapsed < 10, f"took {elapsed:.1f} s, of which starting Python is about 2 s"
