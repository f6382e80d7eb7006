"""The application: one call for each thing a person sends, Telegram-free.

Each call opens one database transaction, reads who is asking from the database (never
from the update), hands the request to the part of the application it is for, and returns
an ``Outcome`` for the Telegram layer (``bot/app.py``) to send. Typed text is routed here
too, in the same single transaction: an awaited reply (a review reason, a corrective
action), a menu button of the reply keyboard, or a visit's answer.

| part | what a person does |
|---|---|
| ``account`` | ``/start`` with an invitation, ``/help`` |
| ``pickers`` | chooses the store, checklist and employee of a visit |
| ``visiting`` | answers, comments, photos, check-in, submits; alerts follow |
| ``review`` | an admin accepts, returns or voids a flagged or disputed visit |
| ``cards`` | a store manager's card of a visit: seen, disputed |
| ``reports`` | ``/report``, ``/resend`` |
| ``followups`` | a manager's own corrective action for a failed standard |
| ``actions`` | ``/actions``: closing corrective actions; their reminders |
| ``assignments`` | ``/overdue``, the shoppers' reminders |
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.callbacks import Op, Pressed, Route, decode, route_of
from bot.i18n import LANGUAGES, Translator
from bot.service.account import Account
from bot.service.actions import Actions
from bot.service.assignments import Assignments
from bot.service.base import Request, Setting, forget_text, request
from bot.service.cards import Cards
from bot.service.followups import FollowUps
from bot.service.outcome import Outcome, Reply
from bot.service.pickers import Pickers
from bot.service.report_requests import ReportRequests
from bot.service.review import Review
from bot.service.visit import Visiting
from storage import quick_drafts
from storage.models import AttachmentKind, PendingInput, PendingKind
from storage.people import TelegramIdentity

MENU_ACTIONS = ("menu.new_visit", "menu.resume")
"""The reply keyboard's buttons that send their label as text."""


class Service:
    def __init__(self, setting: Setting) -> None:
        self.setting = setting
        self.account = Account(setting)
        self.pickers = Pickers(setting)
        self.visiting = Visiting(setting, self.pickers)
        self.review = Review(setting)
        self.reports = ReportRequests(setting)
        self.followups = FollowUps(setting)
        self.cards = Cards(setting)
        self.actions = Actions(setting)
        self.assignments = Assignments(setting)
        self._menu = {Translator(lang)(key): key for lang in LANGUAGES for key in MENU_ACTIONS}
        self._typed_replies: dict[PendingKind, Callable[[Request, PendingInput, str], Outcome]]
        self._typed_replies = {
            PendingKind.REVIEW_REASON: self.review.reason,
            PendingKind.CORRECTION_REASON: self.review.correction_reason,
            PendingKind.CORRECTION_VALUE: self.review.correction_value,
            PendingKind.DISPUTE_REASON: self.cards.dispute_reason,
            PendingKind.ACTION_DONE: self.actions.done,
            PendingKind.ACTION_PHOTO: self.actions.photo_expected,
            PendingKind.ACTION: self.followups.action,
            PendingKind.ACTION_DUE: self.followups.due,
        }

    @contextmanager
    def _write(
        self,
        who: TelegramIdentity,
        update_id: int | None = None,
        message_id: int | None = None,
        *,
        wait: bool = True,
    ) -> Iterator[Request]:
        database = self.setting.database
        with database.cpu.timing(database.cpu.full), database.write(wait=wait) as session:
            yield request(session, who, self.setting, update_id, message_id)

    @contextmanager
    def _read(self, who: TelegramIdentity) -> Iterator[Request]:
        database = self.setting.database
        with database.cpu.timing(database.cpu.full), database.read() as session:
            yield request(session, who, self.setting, None)

    # Commands

    def start(
        self, who: TelegramIdentity, code: str | None, update_id: int | None = None
    ) -> Outcome:
        with self._write(who, update_id) as r:
            return self.account.start(r, code)

    def help(self, who: TelegramIdentity) -> Outcome:
        """``/help``; a write, as a manager who asks for help has left what they were typing."""
        with self._write(who) as r:
            _leave_manager_replies(r)
            return self.account.help(r)

    def language(self, who: TelegramIdentity) -> Outcome:
        with self._read(who) as r:
            return self.account.language(r)

    def visits(self, who: TelegramIdentity) -> Outcome:
        with self._write(who) as r:
            return self.visiting.history(r)

    def new_visit(self, who: TelegramIdentity, *, wait: bool = True) -> Outcome:
        quick = self.visiting.quick_pick(who, None, None, wait=wait)
        if quick is not None:
            return quick
        with self._write(who, wait=wait) as r:
            return self.visiting.new_visit(r)

    def resume(self, who: TelegramIdentity, *, wait: bool = True) -> Outcome:
        with self._write(who, wait=wait) as r:
            return self.visiting.resume(r)

    def cancel(self, who: TelegramIdentity) -> Outcome:
        with self._write(who) as r:
            return self.visiting.cancel(r)

    def report(self, who: TelegramIdentity, week: str | None) -> Outcome:
        with self._write(who) as r:
            _leave_manager_replies(r)
            return self.reports.report(r, week)

    def resend(self, who: TelegramIdentity, week: str | None) -> Outcome:
        with self._write(who) as r:
            return self.reports.resend(r, week)

    def review_queue(self, who: TelegramIdentity) -> Outcome:
        """``/review``; a write, as it drops a reason the admin left untyped."""
        with self._write(who) as r:
            return self.review.start(r)

    def overdue(self, who: TelegramIdentity) -> Outcome:
        with self._read(who) as r:
            return self.assignments.overdue(r)

    def followup(self, who: TelegramIdentity) -> Outcome:
        with self._write(who) as r:
            _leave_manager_replies(r)
            return self.followups.start(r)

    def corrective_actions(self, who: TelegramIdentity) -> Outcome:
        """``/actions``; a write, as it drops a closing or a dispute left half typed."""
        with self._write(who) as r:
            _leave_manager_replies(r)
            return self.actions.start(r)

    # Messages and buttons

    def _quick_text(
        self, who: TelegramIdentity, text: str, update_id: int | None, *, wait: bool
    ) -> Outcome | None:
        if update_id is None or text in self._menu:
            return None
        return self.visiting.quick_text(who, text, update_id, wait=wait)

    def _quick_press(
        self, who: TelegramIdentity, pressed: Pressed | None, update_id: int | None, *, wait: bool
    ) -> Outcome | None:
        if pressed is None or update_id is None:
            return None
        if pressed.route == Route.PICKER:
            return self.visiting.quick_pick(who, pressed, update_id, wait=wait)
        return self.visiting.quick_press(who, pressed, update_id, wait=wait)

    def text(
        self, who: TelegramIdentity, text: str, update_id: int | None = None, *, wait: bool = True
    ) -> Outcome:
        """Typed text: the reply to what this person was asked, a menu button, or an answer.

        ``wait=False`` (as for every call of the conversation that takes it): ``WouldWait``,
        nothing done, rather than wait for another writer (``Database.write``)."""
        text = text.replace("\x00", "")  # PostgreSQL text cannot hold NUL; it means nothing
        quick = self._quick_text(who, text, update_id, wait=wait)
        if quick is not None:
            return quick
        with self._write(who, update_id, wait=wait) as r:
            waiting = r.session.get(PendingInput, r.person.id) if r.person else None
            reply = self._typed_replies.get(PendingKind(waiting.kind)) if waiting else None
            if reply is not None and waiting is not None:
                return reply(r, waiting, text)
            match self._menu.get(text):
                case "menu.new_visit":
                    return self.visiting.new_visit(r)
                case "menu.resume":
                    return self.visiting.resume(r)
            return self.visiting.text(r, text)

    def photo(
        self,
        who: TelegramIdentity,
        file_id: str,
        unique_id: str,
        update_id: int | None = None,
        caption: str = "",
    ) -> Outcome:
        with self._write(who, update_id) as r:
            waiting = r.session.get(PendingInput, r.person.id) if r.person else None
            if waiting is not None and waiting.kind == PendingKind.ACTION_PHOTO:
                return self.actions.photo(r, waiting, file_id)
            if waiting is not None and waiting.kind == PendingKind.ACTION_DONE:
                return r.say("action.type_first")
            return self.visiting.attachment(r, AttachmentKind.PHOTO, file_id, unique_id, caption)

    def recording(
        self,
        who: TelegramIdentity,
        kind: AttachmentKind,
        file_id: str,
        unique_id: str,
        duration: int | None,
        update_id: int | None = None,
        caption: str = "",
    ) -> Outcome:
        """A voice note, an audio file or a video note: evidence for the question asked."""
        with self._write(who, update_id) as r:
            return self.visiting.attachment(r, kind, file_id, unique_id, caption, duration)

    def unsupported(self, who: TelegramIdentity) -> Outcome:
        """A kind of message the bot does not read."""
        with self._read(who) as r:
            return r.stranger() if r.person is None else r.say("error.unsupported_message")

    def location(
        self,
        who: TelegramIdentity,
        latitude: float,
        longitude: float,
        update_id: int | None = None,
    ) -> Outcome:
        with self._write(who, update_id) as r:
            return self.visiting.location(r, latitude, longitude)

    def callback(
        self,
        who: TelegramIdentity,
        data: str,
        update_id: int | None = None,
        message_id: int | None = None,
        *,
        wait: bool = True,
    ) -> Outcome:
        """A pressed inline button (on the message ``message_id``), answered by the part its
        data routes to."""
        pressed = decode(data)
        quick = self._quick_press(who, pressed, update_id, wait=wait)
        if quick is not None:
            return quick
        with self._write(who, update_id, message_id, wait=wait) as r:
            match route_of(data):
                case Route.ACCOUNT if pressed is not None and pressed.op == Op.LANGUAGE:
                    return self.account.choose_language(r, pressed)
                case Route.ACCOUNT:
                    return self.account.switch_role(r, pressed)
                case Route.REVIEW:
                    return self.review.press(r, pressed)
                case Route.FOLLOWUP:
                    return self.followups.press(r, pressed)
                case Route.CARD:
                    return self.cards.press(r, pressed)
                case Route.ACTIONS:
                    return self.actions.press(r, pressed)
            return self.visiting.press(r, data, pressed)

    def shown(self, visit_id: int, message_id: int, *, wait: bool = True) -> None:
        """The Telegram layer showed a draft's question in ``message_id``: that is now its
        live copy. One statement on the driver's connection (``storage.quick_drafts``), its
        CPU the database's share of the update that showed it."""
        database = self.setting.database
        with (
            database.cpu.timing(database.cpu.full, count=False),
            database.write_driver(wait=wait) as connection,
        ):
            quick_drafts.shown(connection, database.engine.dialect, visit_id, message_id)

    def card(self, card_id: int) -> Reply:
        """A visit's card as its manager is to receive it."""
        with self.setting.database.read() as session:
            return self.cards.for_manager(session, card_id)

    def reminders(self) -> int:
        """Reminders to shoppers whose assignment closes tomorrow, and to managers whose
        corrective action is due tomorrow or overdue: notices, each added once."""
        return self.assignments.remind() + self.actions.remind()


MANAGER_REPLIES = (
    PendingKind.DISPUTE_REASON,
    PendingKind.ACTION_DONE,
    PendingKind.ACTION_PHOTO,
    PendingKind.ACTION,
    PendingKind.ACTION_DUE,
)
"""What a manager's next message may be awaited for: a command means they left it, and a
later message must not be taken for it (a dispute, say)."""


def _leave_manager_replies(r: Request) -> None:
    if r.person is not None:
        forget_text(r, *MANAGER_REPLIES)
