"""Invitations register people in a role once; pseudonyms never reveal who someone is."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.db import Database
from storage.models import Invitation, Role, Store, utcnow
from storage.people import (
    InvitationRefused,
    TelegramIdentity,
    UnknownStores,
    create_invitation,
    list_people,
    redeem_invitation,
)

ANNA = TelegramIdentity(telegram_id=5001, name="Anna K", username="anna", language="ru")
BORIS = TelegramIdentity(telegram_id=5002, name="Boris", language="en")


@pytest.fixture
def stores(database: Database) -> Database:
    with database.write() as session:
        session.add_all([Store(code="S1", name="One"), Store(code="S2", name="Two")])
    return database


def test_an_invitation_registers_a_person_in_its_role_and_stores(stores: Database) -> None:
    with stores.write() as session:
        code = create_invitation(session, Role.MANAGER, ["S2", "S1"]).code
    with stores.write() as session:
        person = redeem_invitation(session, code, ANNA)
        assert person.role == Role.MANAGER
        assert [s.code for s in person.stores] == ["S1", "S2"]
        assert person.pseudonym == "M-01"
        assert person.telegram_id == 5001
        assert person.name == "Anna K"


def test_a_code_can_be_used_only_once(stores: Database) -> None:
    with stores.write() as session:
        code = create_invitation(session, Role.EVALUATOR).code
    with stores.write() as session:
        redeem_invitation(session, code, ANNA)
    with pytest.raises(InvitationRefused) as refused, stores.write() as session:
        redeem_invitation(session, code, BORIS)
    assert refused.value.reason == "used"
    with stores.read() as session:
        assert [p.telegram_id for p in list_people(session)] == [5001]


def test_an_expired_or_unknown_code_registers_nobody(stores: Database) -> None:
    now = utcnow()
    with stores.write() as session:
        code = create_invitation(session, Role.HR, days=1, now=now - timedelta(days=2)).code
    for attempt, reason in ((code, "expired"), ("no-such-code", "unknown")):
        with pytest.raises(InvitationRefused) as refused, stores.write() as session:
            redeem_invitation(session, attempt, ANNA, now=now)
        assert refused.value.reason == reason
    with stores.read() as session:
        assert list_people(session) == []
        invitation = session.query(Invitation).one()
        assert invitation.used_at is None


def test_an_invitation_for_an_unknown_store_is_refused_and_nothing_is_saved(
    stores: Database,
) -> None:
    with pytest.raises(UnknownStores, match="S9"), stores.write() as session:
        create_invitation(session, Role.MANAGER, ["S1", "S9"])
    with stores.read() as session:
        assert session.query(Invitation).count() == 0


def test_pseudonyms_count_per_role(stores: Database) -> None:
    identities = [TelegramIdentity(telegram_id=7000 + n, name=f"P{n}") for n in range(3)]
    roles = [Role.EVALUATOR, Role.EVALUATOR, Role.HR]
    for who, role in zip(identities, roles, strict=True):
        with stores.write() as session:
            redeem_invitation(session, create_invitation(session, role).code, who)
    with stores.read() as session:
        assert sorted(p.pseudonym for p in list_people(session)) == ["E-01", "E-02", "H-01"]


def test_a_new_invitation_changes_an_existing_persons_role(stores: Database) -> None:
    with stores.write() as session:
        redeem_invitation(session, create_invitation(session, Role.EVALUATOR, ["S1"]).code, ANNA)
    with stores.write() as session:
        person = redeem_invitation(session, create_invitation(session, Role.HR).code, ANNA)
        assert person.role == Role.HR
        assert person.pseudonym == "E-01", "the same person keeps their pseudonym"
        assert person.stores == []
    with stores.read() as session:
        assert len(list_people(session)) == 1
