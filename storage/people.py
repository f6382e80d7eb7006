"""People, their roles and stores, and the one-time invitations that register them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from storage.models import Invitation, Person, Role, Store, person_store, utcnow

INVITATION_DAYS = 7
PSEUDONYM_PREFIX = {Role.EVALUATOR: "E", Role.MANAGER: "M", Role.HR: "H", Role.ADMIN: "A"}
STORE_ROLES = frozenset({Role.MANAGER, Role.EVALUATOR})


class InvitationRefused(Exception):
    """Why a code did not register anyone: ``unknown``, ``used`` or ``expired``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownStores(ValueError):
    def __init__(self, codes: list[str]) -> None:
        super().__init__("unknown store code(s): " + ", ".join(codes))
        self.codes = codes


@dataclass(frozen=True)
class TelegramIdentity:
    telegram_id: int
    name: str
    username: str | None = None
    language: str | None = None


def stores_by_code(session: Session, codes: list[str]) -> list[Store]:
    stores = session.scalars(select(Store).where(Store.code.in_(codes))).all()
    missing = sorted(set(codes) - {s.code for s in stores})
    if missing:
        raise UnknownStores(missing)
    return sorted(stores, key=lambda s: s.code)


def create_invitation(
    session: Session,
    role: Role,
    store_codes: list[str] | None = None,
    *,
    days: int = INVITATION_DAYS,
    note: str = "",
    now: datetime | None = None,
) -> Invitation:
    """A fresh one-time code; deep-link payloads allow only ``A-Za-z0-9_-``, as this is."""
    now = now or utcnow()
    stores = stores_by_code(session, store_codes) if store_codes else []
    invitation = Invitation(
        code=secrets.token_urlsafe(12),
        role=role,
        created_at=now,
        expires_at=now + timedelta(days=days),
        note=note,
        stores=stores,
    )
    session.add(invitation)
    session.flush()
    return invitation


def open_invitation(session: Session, code: str, now: datetime) -> Invitation:
    """The invitation ``code`` names, if it can still be used; else InvitationRefused."""
    invitation = session.scalars(
        select(Invitation).where(Invitation.code == code).with_for_update()
    ).one_or_none()
    if invitation is None:
        raise InvitationRefused("unknown")
    if invitation.used_at is not None:
        raise InvitationRefused("used")
    if invitation.expires_at <= now:
        raise InvitationRefused("expired")
    return invitation


def redeem_invitation(
    session: Session, code: str, who: TelegramIdentity, *, now: datetime | None = None
) -> Person:
    """Register (or re-role) the Telegram user; the code then can never be used again."""
    now = now or utcnow()
    invitation = open_invitation(session, code, now)
    person = register_person(session, who, Role(invitation.role), invitation.stores)
    invitation.used_at = now
    invitation.used_by_id = person.id
    return person


def register_person(
    session: Session, who: TelegramIdentity, role: Role, stores: list[Store]
) -> Person:
    person = person_by_telegram_id(session, who.telegram_id)
    if person is None:
        person = Person(
            telegram_id=who.telegram_id, role=role, pseudonym=_next_pseudonym(session, role)
        )
        session.add(person)
    elif person.role != role:
        # The pseudonym stays: past visits and reports keep showing the same person.
        person.role = role
        person.stores = []
    person.name = who.name
    person.username = who.username
    person.active = True
    if role in STORE_ROLES:
        person.stores = sorted({*person.stores, *stores}, key=lambda s: s.code)
    session.flush()
    return person


def add_person(
    session: Session, role: Role, name: str, stores: list[Store] | None = None
) -> Person:
    """A person known before they open the bot (demo data, or an admin's roster)."""
    person = Person(role=role, name=name, pseudonym=_next_pseudonym(session, role))
    person.stores = list(stores or [])
    session.add(person)
    session.flush()
    return person


PERSON_BY_TELEGRAM_ID = select(Person).where(Person.telegram_id == bindparam("telegram_id"))
"""Built once: every update looks its sender up (a statement built anew costs about as much
again as running it)."""


def person_by_telegram_id(session: Session, telegram_id: int) -> Person | None:
    return session.scalars(PERSON_BY_TELEGRAM_ID, {"telegram_id": telegram_id}).one_or_none()


def list_people(session: Session) -> list[Person]:
    return list(session.scalars(select(Person).order_by(Person.role, Person.pseudonym)).all())


def _next_pseudonym(session: Session, role: Role) -> str:
    """``E-07``: a short name that says the role and nothing about the person."""
    prefix = PSEUDONYM_PREFIX[role] + "-"
    taken = session.scalar(
        select(func.count()).select_from(Person).where(Person.pseudonym.startswith(prefix))
    )
    number = (taken or 0) + 1
    while session.scalar(select(Person.id).where(Person.pseudonym == f"{prefix}{number:02d}")):
        number += 1
    return f"{prefix}{number:02d}"


def manages(person: Person, store_id: int) -> bool:
    """Whether ``person`` is an active manager of the store: who may act on its cards and
    corrective actions."""
    return (
        person.active and person.role == Role.MANAGER and store_id in {s.id for s in person.stores}
    )


def store_managers(session: Session, store_id: int) -> list[Person]:
    """The active managers of a store who have a chat with the bot: who is sent its visits'
    cards and its actions' reminders."""
    return list(session.scalars(STORE_MANAGERS, {"store_id": store_id}))


STORE_MANAGERS = (
    select(Person)
    .join(person_store, person_store.c.person_id == Person.id)
    .where(
        person_store.c.store_id == bindparam("store_id"),
        Person.role == Role.MANAGER,
        Person.active,
        Person.telegram_id.is_not(None),
    )
    .order_by(Person.id)
)
