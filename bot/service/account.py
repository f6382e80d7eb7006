"""Who someone is to the bot: ``/start`` with an invitation, and ``/help`` for their role."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from bot.service.base import VISIT_ROLES, Request, Setting, translator
from bot.service.outcome import Outcome, Reply
from storage import people
from storage.models import Role

INVITATION_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a deep link's payload may hold; anything else (a NUL character, which PostgreSQL
refuses in a query) is no code of ours."""


@dataclass
class Account:
    setting: Setting

    def start(self, r: Request, code: str | None) -> Outcome:
        session, who, now = r.session, r.who, self.setting.clock.now()
        person = people.person_by_telegram_id(session, who.telegram_id)
        repeated = r.repeated(self.setting.clock)
        if code and not repeated:
            try:
                if not INVITATION_CODE.fullmatch(code):
                    raise people.InvitationRefused("unknown")
                person = people.redeem_invitation(session, code, who, now=now)
            except people.InvitationRefused as refused:
                return r.say(f"start.refused_{refused.reason}")
        elif person is None and who.telegram_id in self.setting.admins:
            person = people.register_person(session, who, Role.ADMIN, [])
        r.t = translator(self.setting, who, person)
        if person is None or not person.active:
            return r.stranger()
        welcome = r.t(
            f"start.welcome_{person.role}",
            name=escape(person.name or ""),
            pseudonym=person.pseudonym,
        )
        return r.out(send=[Reply(welcome, menu=person.role in VISIT_ROLES)], role=Role(person.role))

    def help(self, r: Request) -> Outcome:
        person = r.person
        if person is None:
            return r.stranger()
        return r.out(
            send=[Reply(r.t(f"help.{person.role}"), menu=person.role in VISIT_ROLES)],
            role=Role(person.role),
        )
