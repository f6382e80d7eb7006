"""What every part of the application shares: its settings, the person who is asking, and
the language to answer in.

Each thing a person sends is one call of ``bot.service.Service``, which opens one database
transaction and builds a ``Request`` for it; the parts (account, pickers, visit, review,
reports, follow-ups, assignments) work inside it and return an ``Outcome``. Nothing here
trusts what the update says about the person: their role and stores come from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from bot.i18n import Translator, pick_language
from bot.service.outcome import Outcome, Reply
from storage import people, updates
from storage.db import Database
from storage.models import AttachmentKind, PendingInput, PendingKind, Person, Role, Visit
from visits.clock import Clock
from visits.integrity import IntegrityRules

VISIT_ROLES = frozenset({Role.EVALUATOR, Role.ADMIN})
"""Who may make visits: shoppers, and admins trying the checklists."""


@dataclass(frozen=True)
class Setting:
    """The deployment as the application sees it."""

    database: Database
    default_language: str
    clock: Clock
    admins: frozenset[int] = frozenset()
    """Telegram ids that are admins from their first /start."""
    checklist_versions: dict[str, int] = field(default_factory=dict)
    """Current version id of each checklist id, as registered at start."""
    rules: IntegrityRules = field(default_factory=IntegrityRules)
    employee_names: bool = True
    """Whether shoppers name (or describe) the employee who served them; off, no employee
    data is collected at all."""


@dataclass
class Request:
    """One thing one person sent, inside its database transaction."""

    session: Session
    who: people.TelegramIdentity
    person: Person | None
    """The active person behind ``who``; None for a stranger (or someone deactivated)."""
    t: Translator
    update_id: int | None = None
    message_id: int | None = None
    """The message whose button was pressed, if a button was."""

    def repeated(self, clock: Clock) -> bool:
        """Whether this update was acted on before (Telegram delivers at least once); the
        first time, its id is recorded in this transaction, with its effect."""
        if self.update_id is None:
            return False
        return not updates.first_time(self.session, self.update_id, clock.now())

    def out(self, **fields: Any) -> Outcome:
        """An Outcome in the person's language, so the menu and commands match the messages."""
        return Outcome(language=self.t.language, **fields)

    def say(self, key: str, **params: object) -> Outcome:
        """One message from the catalogue."""
        return self.out(send=[Reply(self.t(key, **params))])

    def stranger(self) -> Outcome:
        """A stranger gets the polite refusal and nothing else."""
        return self.say("start.stranger")

    def refuse(self, key: str) -> Outcome:
        """The polite refusal for a stranger, and ``key`` (what the role lacks) for others."""
        return self.stranger() if self.person is None else self.say(key)

    def refuse_button(self, key: str) -> Outcome:
        """As ``refuse``, for a pressed button: a toast."""
        text = self.t("start.stranger" if self.person is None else key)
        return self.out(toast=text, alert=True)


def evidence(r: Request, visit: Visit) -> Outcome:
    """A visit's photos (sent as albums), then its recordings, to the person who asked: an
    admin reviewing it, a manager reading its card."""
    if not visit.photos:
        return r.out(toast=r.t("ops.no_evidence"), alert=True)
    ordered = sorted(visit.photos, key=lambda p: (p.kind != AttachmentKind.PHOTO, p.id))
    return r.out(media=[(str(p.kind), p.file_id) for p in ordered])


def await_text(r: Request, kind: PendingKind, payload: dict[str, object]) -> None:
    """Remember what this person's next typed message answers (it survives a restart)."""
    assert r.person is not None
    waiting = r.session.get(PendingInput, r.person.id)
    if waiting is None:
        r.session.add(PendingInput(person_id=r.person.id, kind=kind, payload=payload))
    else:
        waiting.kind, waiting.payload = kind, payload


def forget_text(r: Request, *kinds: PendingKind) -> None:
    """Drop what this person's next typed message was to answer, if it is one of ``kinds``:
    they went on to something else, and a later message must not be taken for it."""
    assert r.person is not None
    waiting = r.session.get(PendingInput, r.person.id)
    if waiting is not None and waiting.kind in kinds:
        r.session.delete(waiting)
        r.session.flush()


def request(
    session: Session,
    who: people.TelegramIdentity,
    setting: Setting,
    update_id: int | None,
    message_id: int | None = None,
) -> Request:
    person = people.person_by_telegram_id(session, who.telegram_id)
    active = person if person is not None and person.active else None
    t = translator(setting, who, person)
    return Request(session, who, active, t, update_id, message_id)


def translator(setting: Setting, who: people.TelegramIdentity, person: Person | None) -> Translator:
    """The language the person chose with /language, else the deployment's
    (``MSBOT_LANGUAGE``): the bot speaks its team's language, whatever language a phone's
    Telegram app is set to."""
    return translator_for(setting, person)


def translator_for(setting: Setting, person: Person | None) -> Translator:
    """The person's language (their /language choice, else the deployment's), also for a
    message to someone who did not write (an alert, a reminder)."""
    return translator_in(setting, person.language if person is not None else None)


def translator_in(setting: Setting, chosen: str | None) -> Translator:
    """The language a person chose with /language (``chosen``), else the deployment's."""
    return Translator(pick_language(chosen, setting.default_language))
