"""Alerts to a store's managers about a visit that failed a critical standard: sent once a
visit, when the visit counts (unflagged at submission, or accepted in review), so that a
manager never acts on a visit that is later voided, nor hears of one visit twice."""

from __future__ import annotations

from html import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.service.base import Setting, translator_for
from bot.service.screens import percent
from storage import visits
from storage.checklist_versions import definition
from storage.models import Person, ReviewStatus, Role, Visit, VisitStatus


def critical_alerts(session: Session, visit: Visit, setting: Setting) -> list[tuple[int, str]]:
    """The alerts due for ``visit`` (chat id, HTML text), marked sent in the caller's
    transaction; none if the visit does not count yet, passed, or was alerted before."""
    counts = visit.status == VisitStatus.SUBMITTED and visit.review_status in (
        None,
        ReviewStatus.ACCEPTED,
    )
    if not counts or not visit.critical_failed or visit.alerted_at is not None:
        return []
    visit.alerted_at = setting.clock.now()
    checklist = definition(visit.checklist_version)
    failures = visits.score_of(visit).critical_failures
    managers = session.scalars(
        select(Person).where(
            Person.role == Role.MANAGER, Person.active, Person.telegram_id.is_not(None)
        )
    ).all()
    alerts = []
    for manager in managers:
        if visit.store_id not in {s.id for s in manager.stores}:
            continue
        t = translator_for(setting, manager)
        names = [checklist.item(i).standard_name(t.language) for i in failures]
        employee = visit.employee.name if visit.employee else visit.employee_description
        text = t(
            "alert.critical" if len(names) == 1 else "alert.critical_many",
            visit=visit.id,
            store=escape(visit.store.name),
            checklist=escape(checklist.title.get(t.language)),
            pseudonym=visit.evaluator.pseudonym,
            score=percent(visit.score, t),
            items=escape(", ".join(names)),
            employee=escape(employee or "—"),
        )
        alerts.append((int(manager.telegram_id or 0), text))
    return alerts
