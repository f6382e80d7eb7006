"""A store manager's corrective actions in the chat: ``/actions`` lists those in play for their
stores, **✔ Close** asks what was done and then a photo of it (or Skip), and the day before an
action is due, and once it is overdue, its store's managers are reminded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

from bot.callbacks import Op, Pressed, encode
from bot.i18n import Translator
from bot.service.base import Request, Setting, await_text, forget_text, translator_for
from bot.service.outcome import Button, Outcome, Reply
from bot.service.screens import short
from storage import actions, notices, people
from storage.models import (
    ActionStatus,
    AttachmentKind,
    CorrectiveAction,
    PendingInput,
    PendingKind,
    Role,
)

CLOSE, SKIP_PHOTO = "c", "s"
"""The words of the buttons: close an action, close it without a photo."""
MAX_LISTED = 20
"""Actions one ``/actions`` message lists (soonest due first); the rest: the workbook."""
CLOSING = (PendingKind.ACTION_DONE, PendingKind.ACTION_PHOTO)
REMIND_FROM = 9
"""The local hour from which reminders go out: not at midnight, when the date turns."""
PHOTO = "p"
"""The word of the button that shows a closed action's photo."""


@dataclass
class Actions:
    setting: Setting

    def start(self, r: Request) -> Outcome:
        """``/actions``: the actions in play for the manager's stores, soonest due first, a
        Close button on each open one."""
        if r.person is None or r.person.role != Role.MANAGER:
            return r.refuse("ops.managers_only")
        found = actions.of_stores(r.session, [s.id for s in r.person.stores])[:MAX_LISTED]
        if not found:
            return r.say("action.none")
        today = self.setting.clock.today()
        lines = [r.t("action.title")]
        buttons: list[tuple[Button, ...]] = []
        for action in found:
            lines.append(self.line(action, r.t, today))
            standard = short(self.standard(action, r.t), 40)
            if action.status == ActionStatus.OPEN:
                label = r.t("action.close", standard=standard)
                buttons.append(((label, encode(Op.ACTION, CLOSE, action.id)),))
            elif action.closed_photo:
                label = r.t("action.photo", standard=standard)
                buttons.append(((label, encode(Op.ACTION, PHOTO, action.id)),))
        return r.out(send=[Reply("\n".join(lines), tuple(buttons))])

    def line(self, action: CorrectiveAction, t: Translator, today: date) -> str:
        """One action as a line: where it stands, the standard, the store, the due date."""
        due = f"{action.due_on:%d.%m.%Y}"
        closer = action.closed_by.name if action.closed_by is not None else "—"
        if action.status == ActionStatus.CLOSED:
            key = "action.line_closed"
        elif action.due_on < today:
            key = "action.line_overdue"
        else:
            key = "action.line_open"
        return t(
            key,
            standard=escape(self.standard(action, t)),
            store=escape(action.store.name),
            due=due,
            visit=action.visit_id,
            by=escape(closer),
            note=escape(short(action.closed_note or "", 80)),
        )

    def standard(self, action: CorrectiveAction, t: Translator) -> str:
        return actions.standard_name(action, t.language)

    def press(self, r: Request, pressed: Pressed | None) -> Outcome:
        """``ac:c:<action>``: what was done is typed next; ``ac:s:<action>``: closed with
        no photo."""
        if r.person is None or r.person.role != Role.MANAGER:
            return r.refuse_button("ops.managers_only")
        button = _button(pressed)
        if button is None:
            return r.out(toast=r.t("error.bad_button"), alert=True)
        word, action_id = button
        try:
            action = actions.managed(r.session, action_id, r.person)
        except actions.ActionError as error:
            return r.out(toast=r.t(f"action.{error.reason}"), alert=True)
        if word == PHOTO:
            if not action.closed_photo:
                return r.out(toast=r.t("error.bad_button"), alert=True)
            return r.out(media=[(AttachmentKind.PHOTO.value, action.closed_photo)])
        if word == SKIP_PHOTO:
            waiting = r.session.get(PendingInput, r.person.id)
            if waiting is None or waiting.kind != PendingKind.ACTION_PHOTO:
                return r.out(toast=r.t("error.bad_button"), alert=True)
            if int(waiting.payload.get("action_id", -1)) != action.id:
                return r.out(toast=r.t("error.bad_button"), alert=True)
            return self._close(r, waiting, None).as_messages()
        forget_text(r, PendingKind.DISPUTE_REASON, *CLOSING)
        if action.status != ActionStatus.OPEN:
            return r.out(toast=r.t("action.not_open"), alert=True)
        await_text(r, PendingKind.ACTION_DONE, {"action_id": action.id})
        text = r.t(
            "action.type_done",
            standard=escape(self.standard(action, r.t)),
            store=escape(action.store.name),
        )
        return r.out(send=[Reply(text)])

    def done(self, r: Request, waiting: PendingInput, text: str) -> Outcome:
        """What was done, typed: the photo is asked next (or Skip)."""
        note = text.strip()
        if not note or len(note) > actions.MAX_NOTE:
            return r.say("action.note_length", max=actions.MAX_NOTE)  # still waiting
        action_id = int(waiting.payload["action_id"])
        waiting.kind = PendingKind.ACTION_PHOTO
        waiting.payload = {"action_id": action_id, "note": note}
        return self.photo_expected(r, waiting, "")

    def photo_expected(self, r: Request, waiting: PendingInput, text: str) -> Outcome:
        """Text where the photo was asked: the photo, or Skip, is still awaited."""
        action_id = int(waiting.payload["action_id"])
        skip = ((r.t("button.skip"), encode(Op.ACTION, SKIP_PHOTO, action_id)),)
        return r.out(send=[Reply(r.t("action.send_photo"), (skip,))])

    def photo(self, r: Request, waiting: PendingInput, file_id: str) -> Outcome:
        """The photo of what was done: the action is closed with it."""
        return self._close(r, waiting, file_id)

    def _close(self, r: Request, waiting: PendingInput, photo: str | None) -> Outcome:
        assert r.person is not None
        r.session.delete(waiting)
        try:
            action = actions.managed(r.session, int(waiting.payload["action_id"]), r.person)
            note = str(waiting.payload["note"])
            actions.close(action, r.person, note, photo, self.setting.clock.now())
        except actions.ActionError as error:
            return r.say(f"action.{error.reason}", max=actions.MAX_NOTE)
        return r.say("action.closed", standard=escape(self.standard(action, r.t)))

    def remind(self) -> int:
        """The day before an action is due, and once it is overdue, its store's managers
        are reminded: each reminder a notice added in the transaction that marks it, so it
        is sent once however Telegram fares. The number of notices."""
        clock = self.setting.clock
        today, now = clock.today(), clock.now()
        if now.astimezone(clock.zone).hour < REMIND_FROM:
            return 0
        added = 0
        with self.setting.database.write() as session:
            due = [(a, "action.due_tomorrow") for a in actions.due_tomorrow(session, today)]
            late = [(a, "action.overdue") for a in actions.overdue(session, today)]
            for action, key in [*due, *late]:
                managers = people.store_managers(session, action.store_id)
                if not managers:  # kept for a manager the store gets later
                    continue
                if key == "action.overdue":
                    action.overdue_reminded_at = now
                else:
                    action.reminded_at = now
                for manager in managers:
                    t = translator_for(self.setting, manager)
                    text = t(
                        key,
                        standard=escape(self.standard(action, t)),
                        store=escape(action.store.name),
                        due=f"{action.due_on:%d.%m.%Y}",
                    )
                    added += notices.add(session, manager, text)
        return added


def _button(pressed: Pressed | None) -> tuple[str, int] | None:
    """The word and the action of an action's button, or None if forged."""
    return pressed.word_and_id(Op.ACTION, (CLOSE, SKIP_PHOTO, PHOTO)) if pressed else None
