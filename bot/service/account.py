"""Who someone is to the bot: ``/start`` with an invitation (a new role only once they
confirm it), ``/help`` with every command of their role, and ``/language``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from bot.callbacks import Op, Pressed, encode
from bot.i18n import LANGUAGES, Translator
from bot.service.base import VISIT_ROLES, Request, Setting, await_text, translator
from bot.service.outcome import Outcome, Reply
from storage import people
from storage.models import Invitation, PendingInput, PendingKind, Person, Role

INVITATION_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a deep link's payload may hold; anything else (a NUL character, which PostgreSQL
refuses in a query) is no code of ours."""
ROLE_COMMANDS = {
    Role.EVALUATOR: ("visit", "resume", "cancel", "visits", "language", "help"),
    Role.ADMIN: (
        "visit",
        "resume",
        "cancel",
        "visits",
        "review",
        "overdue",
        "report",
        "resend",
        "language",
        "help",
    ),
    Role.MANAGER: ("actions", "report", "followup", "language", "help"),
    Role.HR: ("report", "language", "help"),
}
"""Each role's commands, in the order its command menu and ``/help`` list them."""
YES, NO = 1, 0
LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}


@dataclass
class Account:
    setting: Setting

    def start(self, r: Request, code: str | None) -> Outcome:
        """``/start [CODE]``: register with an invitation; someone registered in another role
        is asked first, with what would change."""
        session, who, now = r.session, r.who, self.setting.clock.now()
        person = people.person_by_telegram_id(session, who.telegram_id)
        repeated = r.repeated(self.setting.clock)
        if code and not repeated:
            try:
                if not INVITATION_CODE.fullmatch(code):
                    raise people.InvitationRefused("unknown")
                invitation = people.open_invitation(session, code, now)
                if person is not None and person.active and person.role != invitation.role:
                    return self._confirm(r, person, invitation)
                person = people.redeem_invitation(session, code, who, now=now)
            except people.InvitationRefused as refused:
                return r.say(f"start.refused_{refused.reason}")
        elif person is None and who.telegram_id in self.setting.admins:
            person = people.register_person(session, who, Role.ADMIN, [])
        if person is None or not person.active:
            return r.stranger()
        return self._welcome(r, person)

    def _welcome(self, r: Request, person: Person) -> Outcome:
        r.t = translator(self.setting, r.who, person)
        welcome = r.t(
            f"start.welcome_{person.role}",
            name=escape(person.name or ""),
            pseudonym=person.pseudonym,
        )
        return r.out(send=[Reply(welcome, menu=person.role in VISIT_ROLES)], role=Role(person.role))

    def _confirm(self, r: Request, person: Person, invitation: Invitation) -> Outcome:
        """Ask before the role changes. The invitation waits for this person's answer: a
        button naming another invitation is refused (its id is no secret, its code is)."""
        await_text(r, PendingKind.ROLE_SWITCH, {"invitation": invitation.id})
        t = r.t
        text = t(
            "start.confirm_role",
            role=t(f"role.{person.role}"),
            pseudonym=person.pseudonym,
            new=t(f"role.{invitation.role}"),
            stores=escape(", ".join(s.name for s in invitation.stores) or "—"),
            loses=t(f"start.loses_{person.role}"),
        )
        buttons = (
            (
                (t("button.switch_role"), encode(Op.SWITCH_ROLE, invitation.id, YES)),
                (t("button.keep_role"), encode(Op.SWITCH_ROLE, invitation.id, NO)),
            ),
        )
        return r.out(send=[Reply(text, buttons)])

    def switch_role(self, r: Request, pressed: Pressed | None) -> Outcome:
        """The answer to the question ``_confirm`` asked: the invitation is used only now."""
        if r.person is None:
            return r.refuse_button("start.stranger")
        if pressed is None or pressed.op != Op.SWITCH_ROLE:
            return r.out(toast=r.t("error.bad_button"), alert=True)
        invitation_id, answer = pressed.numbers()
        waiting = r.session.get(PendingInput, r.person.id)
        asked = waiting is not None and waiting.kind == PendingKind.ROLE_SWITCH
        if not asked or waiting is None or waiting.payload.get("invitation") != invitation_id:
            return r.out(toast=r.t("error.bad_button"), alert=True)
        r.session.delete(waiting)
        invitation = r.session.get(Invitation, invitation_id)
        if answer != YES or invitation is None:
            return r.out(edit=Reply(r.t("start.role_kept", pseudonym=r.person.pseudonym)))
        try:
            people.open_invitation(r.session, invitation.code, self.setting.clock.now())
        except people.InvitationRefused as refused:
            return r.out(edit=Reply(r.t(f"start.refused_{refused.reason}")))
        person = people.redeem_invitation(
            r.session, invitation.code, r.who, now=self.setting.clock.now()
        )
        welcome = self._welcome(r, person)
        welcome.edit, welcome.send = welcome.send[0], welcome.send[1:]
        return welcome

    def help(self, r: Request) -> Outcome:
        """What the person's role is for, and every command it has."""
        person = r.person
        if person is None:
            return r.stranger()
        role = Role(person.role)
        commands = [f"/{name} — {r.t(f'command.{name}')}" for name in ROLE_COMMANDS[role]]
        text = r.t(f"help.{role}") + "\n\n" + "\n".join(commands)
        return r.out(send=[Reply(text, menu=role in VISIT_ROLES)], role=role)

    def language(self, r: Request) -> Outcome:
        """``/language``: the person's own language for the bot and their workbooks."""
        if r.person is None:
            return r.stranger()
        buttons = (
            tuple(
                (LANGUAGE_NAMES[language], encode(Op.LANGUAGE, language)) for language in LANGUAGES
            ),
        )
        return r.out(send=[Reply(r.t("language.choose"), buttons)])

    def choose_language(self, r: Request, pressed: Pressed | None) -> Outcome:
        if r.person is None:
            return r.refuse_button("start.stranger")
        chosen = pressed.fields[0] if pressed is not None else None
        if pressed is None or pressed.op != Op.LANGUAGE or chosen not in LANGUAGES:
            return r.out(toast=r.t("error.bad_button"), alert=True)
        r.person.language = str(chosen)
        r.t = Translator(str(chosen))
        role = Role(r.person.role)
        chosen_text = r.t("language.chosen")
        if role not in VISIT_ROLES:
            return r.out(edit=Reply(chosen_text), role=role)
        # The reply keyboard's buttons are words too: it comes again, in the new language.
        done = Reply("✓ " + LANGUAGE_NAMES[str(chosen)])
        return r.out(edit=done, send=[Reply(chosen_text, menu=True)], role=role)
