"""Field operations in the bot: admins review flagged visits and see overdue assignments,
managers add corrective actions, shoppers get reminders. Telegram-free, like Conversation.

Typed replies that are not visit answers (a reason, an action, a due date) are awaited
through a ``PendingInput`` row, so they survive a restart like everything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import callbacks
from bot.conversation import Outcome, answer_in
from bot.i18n import Translator, pick_language
from bot.screens import Button, Reply, percent
from storage import assignments, followups, integrity, people
from storage.checklist_versions import definition
from storage.db import Database
from storage.models import Assignment, PendingInput, Person, Role, Visit

MAX_LISTED = 10
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m")
REVIEW_OPS = {"a": integrity.ACCEPTED, "r": integrity.REJECTED, "v": "void"}


@dataclass
class Operations:
    database: Database
    default_language: str
    zone: ZoneInfo
    rules: integrity.IntegrityRules = field(default_factory=integrity.IntegrityRules)

    # Admin: review of flagged visits

    def review(self, who: people.TelegramIdentity) -> Outcome:
        with self.database.read() as session:
            person, t = self._person(session, who)
            if person is None or person.role != Role.ADMIN:
                return answer_in(t, send=[Reply(t(_refusal(person, "ops.admins_only")))])
            return answer_in(t, send=[self._review_card(session, t, after=0)])

    def review_action(self, who: people.TelegramIdentity, data: str, now: datetime) -> Outcome:
        """``rv:<a|r|v|n>:<visit>``: accept, ask a reason to reject or void, or show the next."""
        button = _review_button(data)
        with self.database.write() as session:
            person, t = self._person(session, who)
            if person is None or person.role != Role.ADMIN:
                return answer_in(t, toast=t(_refusal(person, "ops.admins_only")), alert=True)
            if button is None:
                return answer_in(t, toast=t("error.bad_button"), alert=True)
            op, visit_id = button
            if op == "n":
                return answer_in(t, edit=self._review_card(session, t, after=visit_id))
            if op == "a":
                return self._decide(session, person, t, visit_id, integrity.ACCEPTED, "", now)
            visit = session.get(Visit, visit_id)
            if visit is None or visit.review_status != integrity.PENDING:
                return answer_in(t, toast=t("ops.not_pending"), alert=True)
            self._await(
                session, person, "review_reason", {"visit_id": visit_id, "decision": REVIEW_OPS[op]}
            )
            return answer_in(t, edit=Reply(t("ops.type_reason", visit=visit_id)))

    def _decide(
        self,
        session: Session,
        admin: Person,
        t: Translator,
        visit_id: int,
        decision: str,
        reason: str,
        now: datetime,
    ) -> Outcome:
        try:
            visit = integrity.decide(
                session, visit_id, decision, reason, admin.id, self.rules, now=now
            )
        except integrity.ReviewError as error:
            return answer_in(t, toast=t(f"ops.{error.reason}"), alert=True)
        outcome = answer_in(
            t,
            toast=t(f"ops.decided_{decision}", visit=visit_id),
            edit=self._review_card(session, t, after=visit_id),
        )
        shopper = visit.evaluator
        if decision == integrity.REJECTED and shopper.telegram_id is not None:
            st = self._t_for(shopper)
            deadline = visit.resubmit_until.astimezone(self.zone) if visit.resubmit_until else now
            outcome.notify.append(
                (
                    shopper.telegram_id,
                    st(
                        "ops.returned_to_shopper",
                        visit=visit_id,
                        store=escape(visit.store.name),
                        reason=escape(reason),
                        until=f"{deadline:%d.%m.%Y %H:%M}",
                    ),
                )
            )
        return outcome

    def _review_card(self, session: Session, t: Translator, after: int) -> Reply:
        pending = [v for v in integrity.pending_reviews(session) if v.id > after]
        pending = pending or integrity.pending_reviews(session)
        if not pending:
            return Reply(t("ops.nothing_to_review"))
        visit = pending[0]
        flags = integrity.flags_of(session, visit.id)
        lines = [
            t(
                "ops.review_card",
                visit=visit.id,
                store=escape(visit.store.name),
                checklist=escape(definition(visit.checklist_version).title.get(t.language)),
                shopper=visit.evaluator.pseudonym,
                score=percent(visit.score, t),
                count=len(integrity.pending_reviews(session)),
            ),
            "",
            *(f"⚑ {t('flag.' + f.kind)}: {escape(f.details)}" for f in flags),
        ]
        buttons: tuple[tuple[Button, ...], ...] = (
            ((t("ops.accept"), f"rv:a:{visit.id}"), (t("ops.reject"), f"rv:r:{visit.id}")),
            ((t("ops.void"), f"rv:v:{visit.id}"), (t("button.next"), f"rv:n:{visit.id}")),
        )
        return Reply("\n".join(lines), buttons)

    def overdue(self, who: people.TelegramIdentity, now: datetime) -> Outcome:
        with self.database.read() as session:
            person, t = self._person(session, who)
            if person is None or person.role != Role.ADMIN:
                return answer_in(t, send=[Reply(t(_refusal(person, "ops.admins_only")))])
            late = assignments.overdue(session, now.astimezone(self.zone).date())
            if not late:
                return answer_in(t, send=[Reply(t("ops.nothing_overdue"))])
            lines = [t("ops.overdue_title", count=len(late))]
            lines += [self._assignment_line(a, t) for a in late[:50]]
            return answer_in(t, send=[Reply("\n".join(lines))])

    def _assignment_line(self, assignment: Assignment, t: Translator) -> str:
        return t(
            "ops.assignment_line",
            id=assignment.id,
            store=escape(assignment.store.name),
            checklist=assignment.checklist_id,
            shopper=assignment.evaluator.pseudonym,
            until=f"{assignment.closes_on:%d.%m.%Y}",
        )

    # Manager: corrective actions

    def followup(self, who: people.TelegramIdentity, now: datetime) -> Outcome:
        with self.database.read() as session:
            person, t = self._person(session, who)
            if person is None or person.role != Role.MANAGER:
                return answer_in(t, send=[Reply(t(_refusal(person, "ops.managers_only")))])
            failed = followups.failed_standards(session, person, now)[:MAX_LISTED]
            if not failed:
                return answer_in(t, send=[Reply(t("ops.nothing_failed"))])
            rows: list[tuple[Button, ...]] = []
            for found in failed:
                visit = session.get(Visit, found.visit_id)
                assert visit is not None
                checklist = definition(visit.checklist_version)
                index = [i.id for i in checklist.items].index(found.item_id)
                label = (
                    f"{found.submitted_at.astimezone(self.zone):%d.%m} · "
                    f"{visit.store.code} · {checklist.item(found.item_id).prompt.get(t.language)}"
                )
                rows.append(((label[:60], f"fu:{visit.id}:{index}"),))
            return answer_in(t, send=[Reply(t("ops.pick_failed"), tuple(rows))])

    def followup_pick(self, who: people.TelegramIdentity, data: str, now: datetime) -> Outcome:
        visit_id, index = _followup_button(data) or (None, -1)
        with self.database.write() as session:
            person, t = self._person(session, who)
            if person is None or person.role != Role.MANAGER:
                return answer_in(t, toast=t(_refusal(person, "ops.managers_only")), alert=True)
            visit = session.get(Visit, visit_id) if visit_id is not None else None
            items = definition(visit.checklist_version).items if visit else []
            failed = {
                (f.visit_id, f.item_id) for f in followups.failed_standards(session, person, now)
            }
            if (
                visit is None
                or not 0 <= index < len(items)
                or (visit.id, items[index].id) not in failed
            ):
                return answer_in(t, toast=t("error.bad_button"), alert=True)
            self._await(
                session, person, "action", {"visit_id": visit.id, "item_id": items[index].id}
            )
            prompt = items[index].prompt.get(t.language)
            return answer_in(t, edit=Reply(t("ops.type_action", standard=escape(prompt))))

    # Typed replies

    def pending_text(
        self, who: people.TelegramIdentity, text: str, now: datetime
    ) -> Outcome | None:
        """The reply to what this person was asked, or None when nothing was asked."""
        with self.database.write() as session:
            person = people.person_by_telegram_id(session, who.telegram_id)
            waiting = session.get(PendingInput, person.id) if person else None
            if person is None or waiting is None:
                return None
            t = self._t_for(person, who.language)
            payload = dict(waiting.payload)
            if waiting.kind == "review_reason":
                session.delete(waiting)
                if not text.strip():
                    return answer_in(t, send=[Reply(t("ops.reason_required"))])
                return self._as_sent(
                    self._decide(
                        session,
                        person,
                        t,
                        int(payload["visit_id"]),
                        str(payload["decision"]),
                        text,
                        now,
                    )
                )
            if waiting.kind == "action":
                if not text.strip() or len(text) > followups.MAX_ACTION:
                    return answer_in(
                        t, send=[Reply(t("ops.action_length", max=followups.MAX_ACTION))]
                    )
                waiting.payload = {**payload, "action": text.strip()}
                waiting.kind = "action_due"
                return answer_in(t, send=[Reply(t("ops.type_due"))])
            today = now.astimezone(self.zone).date()
            due = _parse_date(text, today)
            if due is None:
                return answer_in(t, send=[Reply(t("ops.bad_date"))])
            try:
                followups.add_action(
                    session,
                    person,
                    int(payload["visit_id"]),
                    str(payload["item_id"]),
                    str(payload["action"]),
                    due,
                    now,
                    today,
                )
            except followups.FollowUpError as error:
                session.delete(waiting)
                return answer_in(t, send=[Reply(t(f"ops.followup_{error.reason}"))])
            session.delete(waiting)
            return answer_in(t, send=[Reply(t("ops.action_saved", due=f"{due:%d.%m.%Y}"))])

    # Shoppers: reminders

    def reminders(self, now: datetime) -> list[tuple[int, str]]:
        """Reminders for windows closing tomorrow, each sent once (marked in one transaction)."""
        today = now.astimezone(self.zone).date()
        messages = []
        with self.database.write() as session:
            for assignment in assignments.due_reminders(session, today):
                shopper = assignment.evaluator
                assignment.reminded_at = now
                if shopper.telegram_id is None or not shopper.active:
                    continue
                t = self._t_for(shopper)
                messages.append(
                    (
                        shopper.telegram_id,
                        t(
                            "ops.reminder",
                            store=escape(assignment.store.name),
                            until=f"{assignment.closes_on:%d.%m.%Y}",
                            note=escape(assignment.note),
                        ),
                    )
                )
        return messages

    # Helpers

    def _await(
        self, session: Session, person: Person, kind: str, payload: dict[str, object]
    ) -> None:
        waiting = session.get(PendingInput, person.id)
        if waiting is None:
            session.add(PendingInput(person_id=person.id, kind=kind, payload=payload))
        else:
            waiting.kind, waiting.payload = kind, payload

    def _person(
        self, session: Session, who: people.TelegramIdentity
    ) -> tuple[Person | None, Translator]:
        person = people.person_by_telegram_id(session, who.telegram_id)
        if person is not None and not person.active:
            person = None
        return person, self._t_for(person, who.language)

    def _t_for(self, person: Person | None, telegram_language: str | None = None) -> Translator:
        language = telegram_language or (person.language if person else None)
        return Translator(pick_language(language, self.default_language))

    def _as_sent(self, outcome: Outcome) -> Outcome:
        """A decision made by typing: its card and toast become messages."""
        outcome.send = [r for r in (outcome.edit,) if r is not None]
        if outcome.toast:
            outcome.send.insert(0, Reply(outcome.toast))
        outcome.edit, outcome.toast, outcome.alert = None, None, False
        return outcome


def _review_button(data: str) -> tuple[str, int] | None:
    """``rv:<a|r|v|n>:<visit>`` as the review card makes it, or ``None`` if forged."""
    match callbacks.parse(data):
        case ("rv", [str(op), int(visit_id)]) if op in (*REVIEW_OPS, "n") and visit_id >= 0:
            return op, visit_id
    return None


def _followup_button(data: str) -> tuple[int, int] | None:
    """``fu:<visit>:<item index>`` as the follow-up list makes it, or ``None`` if forged."""
    match callbacks.parse(data):
        case ("fu", [int(visit_id), int(index)]):
            return visit_id, index
    return None


def _refusal(person: Person | None, not_for_role: str) -> str:
    """A stranger gets the polite refusal and nothing else; others hear what the role lacks."""
    return "start.stranger" if person is None else not_for_role


def _parse_date(text: str, today: date) -> date | None:
    cleaned = re.sub(r"\s+", "", text)
    for pattern in DATE_FORMATS:
        try:
            parsed = datetime.strptime(cleaned, pattern).date()
        except ValueError:
            continue
        return parsed.replace(year=today.year) if pattern == "%d.%m" else parsed
    return None
