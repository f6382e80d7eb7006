"""Assigned visits in the chat: overdue ones for admins, reminders for shoppers."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from bot.service.base import Request, Setting, translator_for
from bot.service.outcome import Outcome, Reply
from storage import notices
from storage.checklist_versions import definition
from storage.models import Assignment, ChecklistVersion, Role
from visits import assignments

MAX_OVERDUE = 50
"""Overdue assignments listed in one message; the command line lists them all."""


@dataclass
class Assignments:
    setting: Setting

    def overdue(self, r: Request) -> Outcome:
        """``/overdue``: assignments whose window passed with no visit, for admins."""
        if r.person is None or r.person.role != Role.ADMIN:
            return r.refuse("ops.admins_only")
        late = assignments.overdue(r.session, self.setting.clock.today())
        if not late:
            return r.say("ops.nothing_overdue")
        lines = [r.t("ops.overdue_title", count=len(late))]
        lines += [self._line(r, a) for a in late[:MAX_OVERDUE]]
        return r.out(send=[Reply("\n".join(lines))])

    def _line(self, r: Request, assignment: Assignment) -> str:
        version_id = self.setting.checklist_versions.get(assignment.checklist_id)
        version = r.session.get(ChecklistVersion, version_id) if version_id else None
        title = definition(version).title.get(r.t.language) if version else assignment.checklist_id
        return r.t(
            "ops.assignment_line",
            id=assignment.id,
            store=escape(assignment.store.name),
            checklist=escape(title),
            shopper=assignment.evaluator.pseudonym,
            until=f"{assignment.closes_on:%d.%m.%Y}",
        )

    def remind(self) -> int:
        """Reminders for windows closing tomorrow, each a notice added in the transaction that
        marks the assignment reminded (sent once by the outbox). The number of notices."""
        clock = self.setting.clock
        added = 0
        with self.setting.database.write() as session:
            for assignment in assignments.due_reminders(session, clock.today()):
                shopper = assignment.evaluator
                assignment.reminded_at = clock.now()
                t = translator_for(self.setting, shopper)
                text = t(
                    "ops.reminder",
                    store=escape(assignment.store.name),
                    until=f"{assignment.closes_on:%d.%m.%Y}",
                    note=escape(assignment.note),
                )
                added += notices.add(session, shopper, text)
        return added
