"""The shopper's side of every request: who may make visits, their one draft, and the
refusal that shows the current question again so that nothing is lost."""

from __future__ import annotations

from bot.service.base import VISIT_ROLES, Request, Setting
from bot.service.outcome import Outcome
from bot.service.screens import render
from storage.drafts import Records
from storage.models import Visit
from visits import drafts
from visits.flow import VisitFlow


def refusal(r: Request) -> Outcome | None:
    """Why this person may not make visits, or None if they may."""
    if r.person is None:
        return r.stranger()
    if r.person.role not in VISIT_ROLES:
        return r.say("visit.not_for_role")
    return None


def settle(r: Request, setting: Setting) -> list[Visit]:
    """Lapse or reopen returned visits before anything looks at the shopper's draft; the
    visits looked at, for ``current`` to find the draft in."""
    assert r.person is not None
    return drafts.settle(Records(r.session), r.person.id, setting.clock.now())


def current(
    r: Request,
    setting: Setting,
    visit_id: int | None = None,
    settled: list[Visit] | None = None,
) -> VisitFlow | None:
    """The shopper's open draft (the given one, or the latest); ``settled``: what ``settle``
    returned, when nothing has changed the shopper's drafts since."""
    assert r.person is not None
    return drafts.open_draft(Records(r.session), r.person.id, setting.clock, visit_id, settled)


def refuse(r: Request, setting: Setting, key: str, **params: object) -> Outcome:
    """A short explanation, and the current question in place of the pressed one if that was
    the live copy; an older copy only loses its buttons (there is one live question)."""
    outcome = r.out(toast=r.t(key, **params), alert=True)
    draft = current(r, setting)
    if draft is None:
        return outcome
    live = draft.visit.screen_message_id
    if r.message_id is None or live is None or r.message_id == live:
        outcome.edit = render(draft.screen(), r.t)
    else:
        outcome.retire = True
    return outcome
