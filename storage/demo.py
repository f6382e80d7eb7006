"""Realistic, reproducible demo data: stores, staff, evaluators and scored visits.

Stores and employees get a hidden "quality" so that reports show real differences (some
stores are better, some employees need coaching); the same seed and end date always give
the same data. Visits are inserted in bulk, scored by the same code as real ones.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from checklists import scoring
from checklists.item_types.multi import SEPARATOR as MULTI_SEPARATOR
from checklists.schema import Checklist, Item
from storage import people
from storage.models import (
    Answer,
    AttachmentKind,
    ChecklistVersion,
    Employee,
    Person,
    Photo,
    Role,
    Store,
    Visit,
    VisitStatus,
)

CHUNK = 2_000
STREETS = (
    ("Тверская", "на Тверской"),
    ("Арбат", "на Арбате"),
    ("Ленинский проспект", "на Ленинском проспекте"),
    ("Профсоюзная", "на Профсоюзной"),
    ("Мясницкая", "на Мясницкой"),
    ("Покровка", "на Покровке"),
    ("Сретенка", "на Сретенке"),
    ("Пятницкая", "на Пятницкой"),
    ("Маросейка", "на Маросейке"),
    ("Большая Ордынка", "на Большой Ордынке"),
    ("Новослободская", "на Новослободской"),
    ("Садовая", "на Садовой"),
)
"""Streets as an address names them, and as a store's name does ("a store on ...")."""
FIRST_NAMES = (
    "Анна",
    "Мария",
    "Елена",
    "Ольга",
    "Наталья",
    "Ирина",
    "Дмитрий",
    "Алексей",
    "Сергей",
    "Андрей",
    "Иван",
    "Максим",
    "Татьяна",
    "Екатерина",
    "Павел",
    "Юлия",
)
LAST_NAMES = (
    "Иванова",
    "Смирнова",
    "Кузнецова",
    "Попова",
    "Соколова",
    "Лебедева",
    "Козлова",
    "Новикова",
    "Морозова",
    "Петрова",
    "Волкова",
    "Соловьёва",
    "Васильева",
    "Зайцева",
)
POSITIONS = ("Продавец-консультант", "Старший продавец", "Администратор", "Кассир")
COMMENTS = (
    "Сотрудник был занят телефоном, подошёл не сразу.",
    "Очень вежливая консультация, предложили доставку.",
    "В зале было много покупателей, очередь на кассе.",
    "Предложили скидочную карту и рассказали об акции.",
    "Ответили «нет» и не предложили альтернативу.",
)
CHANNEL_SHARE = {"store": 0.7, "phone": 0.15, "online": 0.15}


@dataclass
class _Actor:
    id: int
    quality: float


def generate(
    session: Session,
    checklists: list[Checklist],
    *,
    stores: int,
    visits: int,
    weeks: int,
    seed: int,
    zone: ZoneInfo,
    until: date | None = None,
) -> str:
    rng = random.Random(seed)
    end_day = until or _monday(datetime.now(zone).date())
    end = datetime.combine(end_day, time(0), zone)
    start = end - timedelta(weeks=weeks)
    shops = _stores(session, rng, stores)
    staff = _staff(session, rng, shops)
    evaluators = _evaluators(session, max(3, stores // 4))
    versions = _versions(session, checklists)
    plans = _visit_plans(rng, visits, start, end, shops, staff, evaluators, versions)
    inserted = 0
    for chunk in _chunks(plans, CHUNK):
        inserted += _insert_visits(session, rng, chunk)
    employees = sum(len(v) for v in staff.values())
    return (
        f"demo data: {len(shops)} stores, {employees} employees, {len(evaluators)} evaluators, "
        f"{inserted} visits from {start:%Y-%m-%d} to {end - timedelta(days=1):%Y-%m-%d} "
        f"(seed {seed})"
    )


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _stores(session: Session, rng: random.Random, count: int) -> list[tuple[Store, float]]:
    result = []
    for n in range(1, count + 1):
        code = f"D{n:03d}"
        store = session.scalars(select(Store).where(Store.code == code)).one_or_none()
        street, on_street = STREETS[(n - 1) % len(STREETS)]
        if store is None:
            store = Store(
                code=code,
                name=f"Магазин {on_street} ({n})",
                address=f"Москва, {street}, {rng.randint(1, 120)}",
                latitude=round(rng.uniform(55.60, 55.90), 6),
                longitude=round(rng.uniform(37.40, 37.80), 6),
            )
            session.add(store)
        result.append((store, rng.uniform(0.55, 0.95)))
    session.flush()
    return result


def _staff(
    session: Session, rng: random.Random, shops: list[tuple[Store, float]]
) -> dict[int, list[_Actor]]:
    staff: dict[int, list[_Actor]] = {}
    for store, quality in shops:
        team = []
        for k in range(1, rng.randint(4, 8) + 1):
            code = f"{store.code}-{k:02d}"
            employee = session.scalars(select(Employee).where(Employee.code == code)).one_or_none()
            if employee is None:
                employee = Employee(
                    code=code,
                    name=f"{rng.choice(LAST_NAMES)} {rng.choice(FIRST_NAMES)}",
                    position=rng.choice(POSITIONS),
                    store_id=store.id,
                )
                session.add(employee)
                session.flush()
            team.append(_Actor(employee.id, min(0.99, max(0.2, rng.gauss(quality, 0.1)))))
        staff[store.id] = team
    return staff


def _evaluators(session: Session, count: int) -> list[int]:
    existing = session.scalars(
        select(Person).where(Person.role == Role.EVALUATOR, Person.name.startswith("Demo "))
    ).all()
    ids = [p.id for p in existing]
    for n in range(len(ids), count):
        ids.append(people.add_person(session, Role.EVALUATOR, f"Demo evaluator {n + 1}").id)
    return ids[:count]


def _versions(session: Session, checklists: list[Checklist]) -> list[tuple[int, Checklist]]:
    result = []
    for checklist in checklists:
        version_id = session.scalar(
            select(ChecklistVersion.id).where(
                ChecklistVersion.checklist_id == checklist.id,
                ChecklistVersion.version == checklist.version,
            )
        )
        if version_id is None:
            raise ValueError(f"checklist {checklist.id} v{checklist.version} is not registered")
        result.append((version_id, checklist))
    return result


@dataclass
class _Plan:
    store_id: int
    employee: _Actor | None
    evaluator_id: int
    version_id: int
    checklist: Checklist
    started_at: datetime


def _visit_plans(
    rng: random.Random,
    count: int,
    start: datetime,
    end: datetime,
    shops: list[tuple[Store, float]],
    staff: dict[int, list[_Actor]],
    evaluators: list[int],
    versions: list[tuple[int, Checklist]],
) -> Iterator[_Plan]:
    weights = [CHANNEL_SHARE.get(c.channel.value, 0.1) for _, c in versions]
    days = (end.date() - start.date()).days
    for _ in range(count):
        store, _quality = rng.choice(shops)
        version_id, checklist = rng.choices(versions, weights)[0]
        local_day = start.date() + timedelta(days=rng.randrange(days))
        local = datetime.combine(local_day, time(10), start.tzinfo) + timedelta(
            minutes=rng.randrange(11 * 60)
        )
        employee = rng.choice(staff[store.id]) if rng.random() > 0.05 else None
        yield _Plan(
            store.id,
            employee,
            rng.choice(evaluators),
            version_id,
            checklist,
            local.astimezone(UTC),
        )


def _chunks(plans: Iterator[_Plan], size: int) -> Iterator[list[_Plan]]:
    chunk: list[_Plan] = []
    for plan in plans:
        chunk.append(plan)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _insert_visits(session: Session, rng: random.Random, plans: list[_Plan]) -> int:
    first_id = (session.scalar(select(func.max(Visit.id))) or 0) + 1
    visit_rows: list[dict[str, Any]] = []
    answer_rows: list[dict[str, Any]] = []
    photo_rows: list[dict[str, Any]] = []
    for offset, plan in enumerate(plans):
        visit_id = first_id + offset
        skill = plan.employee.quality if plan.employee else rng.uniform(0.4, 0.9)
        answers = _answers(rng, plan.checklist, skill)
        result = scoring.score_visit(plan.checklist, answers)
        duration = timedelta(minutes=rng.randint(6, 25))
        visit_rows.append(
            {
                "id": visit_id,
                "status": VisitStatus.SUBMITTED,
                "store_id": plan.store_id,
                "employee_id": plan.employee.id if plan.employee else None,
                "employee_description": None if plan.employee else "Девушка на кассе, в очках",
                "evaluator_id": plan.evaluator_id,
                "checklist_version_id": plan.version_id,
                "started_at": plan.started_at,
                "submitted_at": plan.started_at + duration,
                "score": result.score,
                "passed": result.passed,
                "critical_failed": result.critical_failed,
                "nps": result.nps,
            }
        )
        for item_id, answer in answers.items():
            item = plan.checklist.item(item_id)
            if not result.items[item_id].visible:
                continue
            if item.kind.photos or item.kind.recordings:
                kind = AttachmentKind.PHOTO if item.kind.photos else AttachmentKind.VOICE
                photo_rows.append(_evidence(visit_id, item_id, kind, plan.started_at + duration))
                continue
            item_result = result.items[item_id]
            numeric = item.kind.numeric and answer.value is not None
            answer_rows.append(
                {
                    "visit_id": visit_id,
                    "item_id": item_id,
                    "na": answer.na,
                    "value_number": float(answer.value)
                    if numeric and answer.value is not None
                    else None,
                    "value_text": None if numeric or answer.value is None else str(answer.value),
                    "measured": item.kind.stopwatch and rng.random() < 0.8,
                    "answered_at": plan.started_at + duration / 2,
                    "score": item_result.score,
                    "weight": item_result.weight if item_result.score is not None else None,
                    "comment": rng.choice(COMMENTS)
                    if rng.random() < 0.05 or _needs_comment(item, answer)
                    else None,
                }
            )
    session.execute(insert(Visit), visit_rows)
    session.execute(insert(Answer), answer_rows)
    if photo_rows:
        session.execute(insert(Photo), photo_rows)
    return len(visit_rows)


def _evidence(
    visit_id: int, item_id: str, kind: AttachmentKind, added_at: datetime
) -> dict[str, Any]:
    """A photo or a voice note of the visit (a recording lasts a demo call's 3 minutes)."""
    return {
        "visit_id": visit_id,
        "item_id": item_id,
        "kind": kind,
        "file_id": f"demo-{kind}-{visit_id}",
        "file_unique_id": f"demo-{visit_id}-{item_id}",
        "added_at": added_at,
        "duration": None if kind == AttachmentKind.PHOTO else 180,
    }


def _needs_comment(item: Item, answer: scoring.Answer) -> bool:
    """Whether the checklist requires a comment on this answer (a "No" on a greeting)."""
    return answer.value is not None and any(
        rule.comment and item.kind.matches(item, answer.value, [rule.when])
        for rule in item.require or []
    )


def _answers(rng: random.Random, checklist: Checklist, skill: float) -> dict[str, scoring.Answer]:
    answers: dict[str, scoring.Answer] = {}
    for item in checklist.items:
        answer = _answer(rng, item, skill)
        if answer is not None:
            answers[item.id] = answer
    return answers


def _answer(rng: random.Random, item: Item, skill: float) -> scoring.Answer | None:
    if item.na and rng.random() < 0.07:
        return scoring.Answer(na=True)
    good = rng.random() < skill
    low, high = item.value_range or (0, 0)
    match item.type:
        case "yes_no":
            return scoring.Answer("yes" if good else "no")
        case "timer":
            fast = min(high, 30)
            return scoring.Answer(
                rng.randint(3, fast) if good else rng.randint(fast, min(high, 180))
            )
        case "count" | "number":
            middle = (low + high) // 4 or 1
            return scoring.Answer(rng.randint(3, max(3, middle)) if good else rng.randint(low, 2))
        case "scale":
            return scoring.Answer(
                max(low, min(high, round(low + (high - low) * skill + rng.gauss(0, 0.8))))
            )
        case "choice":
            options = sorted(item.options or [], key=lambda o: -(o.score or 0))
            return scoring.Answer(options[0].id if good else rng.choice(options[1:]).id)
        case "multi":
            picked = [o.id for o in item.options or [] if rng.random() < (0.8 if good else 0.3)]
            return scoring.Answer(MULTI_SEPARATOR.join(picked))
        case "nps":
            return scoring.Answer(max(0, min(10, round(10 * skill + rng.gauss(0, 1.5)))))
        case "photo":
            return scoring.Answer("photo") if rng.random() < 0.5 else None
        case "recording":
            return scoring.Answer("recording") if rng.random() < 0.4 else None
        case "text":
            return scoring.Answer(rng.choice(COMMENTS)) if rng.random() < 0.3 else None
    return None
