"""A store manager's corrective actions: pick a failed standard of their stores, type what
will be done, then by when."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape

from bot.callbacks import Op, Pressed, encode
from bot.service.base import Request, Setting, await_text
from bot.service.outcome import Button, Outcome, Reply
from storage import followups
from storage.checklist_versions import definition
from storage.models import PendingInput, PendingKind, Role, Visit

MAX_LISTED = 10
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m")


@dataclass
class FollowUps:
    setting: Setting

    def start(self, r: Request) -> Outcome:
        """``/followup``: the failed standards of the manager's stores, newest first."""
        if r.person is None or r.person.role != Role.MANAGER:
            return r.refuse("ops.managers_only")
        now, zone = self.setting.clock.now(), self.setting.clock.zone
        failed = followups.failed_standards(r.session, r.person, now)[:MAX_LISTED]
        if not failed:
            return r.say("ops.nothing_failed")
        found: list[tuple[Button, ...]] = []
        for standard in failed:
            visit = r.session.get(Visit, standard.visit_id)
            assert visit is not None
            checklist = definition(visit.checklist_version)
            index = [i.id for i in checklist.items].index(standard.item_id)
            prompt = checklist.item(standard.item_id).standard_name(r.t.language)
            label = (
                f"{standard.submitted_at.astimezone(zone):%d.%m} · {visit.store.code} · {prompt}"
            )
            found.append(((label[:60], encode(Op.FOLLOW_UP, visit.id, index)),))
        return r.out(send=[Reply(r.t("ops.pick_failed"), tuple(found))])

    def press(self, r: Request, pressed: Pressed | None) -> Outcome:
        """``fu:<visit>:<item index>``: a failed standard picked; its action is typed next."""
        if r.person is None or r.person.role != Role.MANAGER:
            return r.refuse_button("ops.managers_only")
        visit_id, index = pressed.numbers() if pressed is not None else (None, -1)
        visit = r.session.get(Visit, visit_id) if visit_id is not None else None
        items = definition(visit.checklist_version).items if visit else []
        now = self.setting.clock.now()
        failed = {
            (f.visit_id, f.item_id) for f in followups.failed_standards(r.session, r.person, now)
        }
        if (
            visit is None
            or not 0 <= index < len(items)
            or (visit.id, items[index].id) not in failed
        ):
            return r.out(toast=r.t("error.bad_button"), alert=True)
        await_text(r, PendingKind.ACTION, {"visit_id": visit.id, "item_id": items[index].id})
        prompt = items[index].standard_name(r.t.language)
        return r.out(edit=Reply(r.t("ops.type_action", standard=escape(prompt))))

    def action(self, r: Request, waiting: PendingInput, text: str) -> Outcome:
        """The action the manager typed; its due date is asked next."""
        if not text.strip() or len(text) > followups.MAX_ACTION:
            return r.say("ops.action_length", max=followups.MAX_ACTION)
        waiting.payload = {**waiting.payload, "action": text.strip()}
        waiting.kind = PendingKind.ACTION_DUE
        return r.say("ops.type_due", example=self._example())

    def _example(self) -> str:
        """A due date a week from today, as the examples show it."""
        return f"{self.setting.clock.today() + timedelta(days=7):%d.%m.%Y}"

    def due(self, r: Request, waiting: PendingInput, text: str) -> Outcome:
        """The date the action is due: saved, or asked again (a date that has passed too)."""
        assert r.person is not None
        today = self.setting.clock.today()
        due = _parse_date(text, today)
        if due is None:
            return r.say("ops.bad_date", example=self._example())
        if due < today:
            return r.say("ops.due_in_past", due=f"{due:%d.%m.%Y}", example=self._example())
        payload = waiting.payload
        try:
            followups.add_action(
                r.session,
                r.person,
                int(payload["visit_id"]),
                str(payload["item_id"]),
                str(payload["action"]),
                due,
                self.setting.clock.now(),
                today,
            )
        except followups.FollowUpError as error:
            r.session.delete(waiting)
            return r.say(f"ops.followup_{error.reason}")
        r.session.delete(waiting)
        return r.say("ops.action_saved", due=f"{due:%d.%m.%Y}")


def _parse_date(text: str, today: date) -> date | None:
    cleaned = re.sub(r"\s+", "", text)
    for pattern in DATE_FORMATS:
        try:
            parsed = datetime.strptime(cleaned, pattern).date()
        except ValueError:
            continue
        return parsed.replace(year=today.year) if pattern == "%d.%m" else parsed
    return None
