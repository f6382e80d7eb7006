"""What the bot does for each thing a person sends, as plain synchronous calls.

Each call opens one write transaction, checks who is asking against the database (never
trusting callback data), changes what it must, and returns an ``Outcome`` for the
Telegram layer to send. The Telegram layer runs these calls in worker threads.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import callbacks
from bot.i18n import Translator, pick_language
from bot.screens import Button, Reply, Rows, percent, render, submitted
from checklists.answers import AnswerRejected
from exports import delivery
from exports.report_data import Scope
from exports.weeks import Week
from storage import assignments, people, updates, visits
from storage.db import Database
from storage.integrity import IntegrityRules, distance_m
from storage.models import (
    Awaiting,
    ChecklistVersion,
    Employee,
    Person,
    Role,
    Store,
    Visit,
)
from storage.submission import submit_visit
from storage.visit_flow import FlowError, VisitFlow, draft_of, start_visit
from visits.clock import Clock

log = logging.getLogger(__name__)

PAGE = 8
VISIT_ROLES = frozenset({Role.EVALUATOR, Role.ADMIN})


@dataclass
class Outcome:
    """What to send back: a toast for a pressed button, an edit of its message, new messages."""

    toast: str | None = None
    alert: bool = False
    edit: Reply | None = None
    send: list[Reply] = field(default_factory=list)
    notify: list[tuple[int, str]] = field(default_factory=list)
    """Messages to other people (chat id, HTML text): alerts to store managers."""
    role: Role | None = None
    """Set when the person's role is known, so the command menu can fit it."""
    language: str = "ru"
    report: ReportRequest | None = None
    """A workbook the Telegram layer should build and send to this chat."""
    deliver_now: bool = False
    """Run the delivery ledger at once (after an admin's resend)."""


def answer_in(t: Translator, **fields: Any) -> Outcome:
    """An Outcome in the language of ``t``, so the menu and commands match the messages."""
    return Outcome(language=t.language, **fields)


@dataclass(frozen=True)
class ReportRequest:
    week: Week
    scope: Scope


@dataclass
class Conversation:
    database: Database
    default_language: str
    admins: frozenset[int]
    checklist_versions: dict[str, int]
    """Current version id of each checklist id, as registered at start."""
    zone: ZoneInfo
    rules: IntegrityRules = field(default_factory=IntegrityRules)

    # Reports

    def report(self, who: people.TelegramIdentity, week_text: str | None, now: datetime) -> Outcome:
        """``/report [WEEK]``: the person's own scope, for the last complete week or a given one."""
        with self.database.read() as session:
            person = self._person(session, who)
            t = self._t(who, person)
            if person is None:
                return Outcome(send=[Reply(t("start.stranger"))], language=t.language)
            scope = delivery.scope_of(person)
            if scope is None:
                return self._out(t, send=[Reply(t("report.not_allowed"))])
            week = self._week(week_text, now, t)
            if isinstance(week, Outcome):
                return week
            return self._out(
                t,
                send=[Reply(t("report.building", week=week.label))],
                report=ReportRequest(week, scope),
            )

    def resend(self, who: people.TelegramIdentity, week_text: str | None, now: datetime) -> Outcome:
        """``/resend WEEK``: an admin sends a week's workbooks to every recipient again."""
        with self.database.write() as session:
            person = self._person(session, who)
            t = self._t(who, person)
            if person is None:
                return Outcome(send=[Reply(t("start.stranger"))], language=t.language)
            if person.role != Role.ADMIN:
                return self._out(t, send=[Reply(t("report.admins_only"))])
            if not week_text:
                return self._out(t, send=[Reply(t("report.resend_usage"))])
            week = self._week(week_text, now, t)
            if isinstance(week, Outcome):
                return week
            count = delivery.resend(session, week, delivery.recipients(session))
            return self._out(
                t, send=[Reply(t("report.resent", week=week.label, count=count))], deliver_now=True
            )

    def _week(self, text: str | None, now: datetime, t: Translator) -> Week | Outcome:
        latest = Week.last_complete(now, self.zone)
        if not text:
            return latest
        try:
            week = Week.parse(text)
        except ValueError:
            return self._out(t, send=[Reply(t("report.bad_week", text=escape(text)))])
        if week < EARLIEST_WEEK:
            # A workbook looks weeks back for its trend: near year 1 that is no date at all.
            return self._out(t, send=[Reply(t("report.bad_week", text=escape(text)))])
        if week > latest:
            return self._out(t, send=[Reply(t("report.future_week", week=week.label))])
        return week

    # Entry points

    def start(
        self, who: people.TelegramIdentity, code: str | None, update_id: int | None = None
    ) -> Outcome:
        with self.database.write() as session:
            person = people.person_by_telegram_id(session, who.telegram_id)
            repeated = update_id is not None and not updates.first_time(session, update_id)
            if code and not repeated:
                try:
                    if not INVITATION_CODE.fullmatch(code):
                        # Deep-link payloads are only ``A-Za-z0-9_-``; anything else (a NUL
                        # character, which PostgreSQL refuses in a query) is no code of ours.
                        raise people.InvitationRefused("unknown")
                    person = people.redeem_invitation(session, code, who)
                except people.InvitationRefused as refused:
                    t = self._t(who, person)
                    return Outcome(
                        send=[Reply(t(f"start.refused_{refused.reason}"))], language=t.language
                    )
            elif person is None and who.telegram_id in self.admins:
                person = people.register_person(session, who, Role.ADMIN, [])
            t = self._t(who, person)
            if person is None or not person.active:
                return Outcome(send=[Reply(t("start.stranger"))], language=t.language)
            welcome = t(
                f"start.welcome_{person.role}",
                name=escape(person.name or ""),
                pseudonym=person.pseudonym,
            )
            return Outcome(
                send=[Reply(welcome, menu=person.role in VISIT_ROLES)],
                role=Role(person.role),
                language=t.language,
            )

    def help(self, who: people.TelegramIdentity) -> Outcome:
        with self.database.read() as session:
            person = self._person(session, who)
            t = self._t(who, person)
            if person is None:
                return Outcome(send=[Reply(t("start.stranger"))], language=t.language)
            return Outcome(
                send=[Reply(t(f"help.{person.role}"), menu=person.role in VISIT_ROLES)],
                role=Role(person.role),
                language=t.language,
            )

    def new_visit(self, who: people.TelegramIdentity) -> Outcome:
        def act(
            session: Session, person: Person, t: Translator, draft: VisitFlow | None
        ) -> Outcome:
            if draft is not None:
                return self._out(t, send=[self._unfinished(draft, t)])
            return self._out(t, send=[self._store_page(session, person, t, 0)])

        return self._as_evaluator(who, act)

    def nearest(
        self,
        who: people.TelegramIdentity,
        latitude: float,
        longitude: float,
        now: datetime,
        update_id: int | None = None,
    ) -> Outcome:
        """A shared location: the check-in of an open visit, or nearby stores to start one."""

        def act(
            session: Session, person: Person, t: Translator, draft: VisitFlow | None
        ) -> Outcome:
            person.last_latitude, person.last_longitude = latitude, longitude
            person.last_location_at = now
            if draft is not None:
                draft.check_in(latitude, longitude, now)
                saved = Reply(t("visit.checkin_saved"))
                return self._out(t, send=[saved, render(draft.screen(), t)])
            located = [
                (distance_m(latitude, longitude, s.latitude, s.longitude) / 1000, s)
                for s in self._stores(session)
                if s.latitude is not None and s.longitude is not None
            ]
            if not located:
                return self._out(t, send=[self._store_page(session, person, t, 0)])
            located.sort(key=lambda pair: pair[0])
            rows = [
                [(t("pick.store_distance", store=s.name, km=f"{km:.1f}"), f"s:{s.id}")]
                for km, s in located[:PAGE]
            ]
            return self._out(t, send=[Reply(t("pick.nearest"), _freeze(rows))])

        return self._as_evaluator(who, act, update_id)

    def resume(self, who: people.TelegramIdentity) -> Outcome:
        return self._with_draft(who, "visit.nothing_to_resume", VisitFlow.keep)

    def cancel(self, who: people.TelegramIdentity) -> Outcome:
        return self._with_draft(who, "visit.nothing_to_cancel", VisitFlow.ask_cancel)

    def _with_draft(
        self, who: people.TelegramIdentity, nothing: str, step: Callable[[VisitFlow], None]
    ) -> Outcome:
        """Apply ``step`` to the shopper's draft and show it, or say there is none."""

        def act(
            session: Session, person: Person, t: Translator, draft: VisitFlow | None
        ) -> Outcome:
            if draft is None:
                return self._out(t, send=[Reply(t(nothing), menu=True)])
            step(draft)
            return self._out(t, send=[render(draft.screen(), t)])

        return self._as_evaluator(who, act)

    def text(
        self, who: people.TelegramIdentity, text: str, now: datetime, update_id: int | None = None
    ) -> Outcome:
        text = text.replace("\x00", "")  # PostgreSQL text cannot hold NUL; it means nothing

        def act(
            session: Session, person: Person, t: Translator, draft: VisitFlow | None
        ) -> Outcome:
            if draft is None:
                return self._out(t, send=[Reply(t("visit.use_buttons_or_visit"), menu=True)])
            return self._typed(draft, text, t, now)

        return self._as_evaluator(who, act, update_id)

    def photo(
        self,
        who: people.TelegramIdentity,
        file_id: str,
        unique_id: str,
        update_id: int | None = None,
    ) -> Outcome:
        def act(
            session: Session, person: Person, t: Translator, draft: VisitFlow | None
        ) -> Outcome:
            if draft is None or draft.visit.awaiting is not None:
                reply = Reply(t("visit.photo_without_question"), menu=draft is None)
                return self._out(t, send=[reply])
            try:
                draft.add_photo(file_id, unique_id)
            except FlowError as error:
                explanation = Reply(t(f"error.{error.reason}", **error.params))
                return self._out(t, send=[explanation, render(draft.screen(), t)])
            return self._out(t, send=[render(draft.screen(), t)])

        return self._as_evaluator(who, act, update_id)

    def _as_evaluator(
        self, who: people.TelegramIdentity, act: Action, update_id: int | None = None
    ) -> Outcome:
        """Run ``act`` in one write transaction for a registered shopper, with their draft.

        An update seen before (Telegram redelivers after a crash) only shows the current
        screen again: its effect was committed with its id.
        """
        with self.database.write() as session:
            person, t, refusal = self._evaluator(session, who)
            if refusal:
                return refusal
            assert person is not None
            draft = draft_of(session, person.id, self._clock())
            if update_id is not None and not updates.first_time(session, update_id):
                return self._out(t, send=[render(draft.screen(), t)] if draft else [])
            return act(session, person, t, draft)

    def callback(
        self, who: people.TelegramIdentity, data: str, now: datetime, update_id: int | None = None
    ) -> Outcome:
        parsed = callbacks.numbers(data)
        with self.database.write() as session:
            person, t, refusal = self._evaluator(session, who)
            if refusal:
                refusal.toast, refusal.alert = refusal.send[0].text, True
                refusal.send = []
                return refusal
            assert person is not None
            if update_id is not None and not updates.first_time(session, update_id):
                draft = draft_of(session, person.id, self._clock(now))
                return self._out(t, edit=render(draft.screen(), t) if draft else None)
            if parsed is None:
                log.warning("forged or unknown callback data %r from %s", data, who.telegram_id)
                return self._refuse(session, person, t, "error.bad_button")
            op, numbers = parsed
            if op in PICKER_OPS:
                return self._pick(session, person, t, op, numbers, now)
            return self._visit_action(session, person, t, op, numbers, now)

    # Choosing store, checklist and employee

    def _pick(
        self,
        session: Session,
        person: Person,
        t: Translator,
        op: str,
        numbers: list[int],
        now: datetime,
    ) -> Outcome:
        if draft_of(session, person.id, self._clock(now)) is not None:
            return self._refuse(session, person, t, "error.draft_open")
        if op == "st" and len(numbers) == 1:
            return self._out(t, edit=self._store_page(session, person, t, numbers[0]))
        store = session.get(Store, numbers[0]) if numbers else None
        if store is None or not store.active:
            return self._refuse(session, person, t, "error.bad_button")
        if op == "s" and len(numbers) == 1:
            return self._out(t, edit=self._checklist_page(session, store, t))
        version = session.get(ChecklistVersion, numbers[1]) if len(numbers) > 1 else None
        if (
            version is None
            or self.checklist_versions.get(version.checklist_id) != version.id
            or not store.offers(version.channel)
        ):
            return self._refuse(session, person, t, "error.bad_button")
        if op == "cl" and len(numbers) == 2:
            return self._out(t, edit=self._employee_page(session, store, version, t, 0))
        if op == "ep" and len(numbers) == 3:
            return self._out(t, edit=self._employee_page(session, store, version, t, numbers[2]))
        if op == "em" and len(numbers) == 3:
            employee = session.get(Employee, numbers[2]) if numbers[2] else None
            if numbers[2] and (
                employee is None or employee.store_id != store.id or not employee.active
            ):
                return self._refuse(session, person, t, "error.bad_button")
            flow = start_visit(session, person, store, version, employee, self._clock(now))
            located = person.last_location_at
            fresh = timedelta(minutes=self.rules.checkin_fresh_minutes)
            if located is not None and now - located <= fresh:
                assert person.last_latitude is not None and person.last_longitude is not None
                flow.check_in(person.last_latitude, person.last_longitude, located)
            return self._out(t, edit=render(flow.screen(), t))
        return self._refuse(session, person, t, "error.bad_button")

    def _stores(self, session: Session) -> list[Store]:
        return list(session.scalars(select(Store).where(Store.active).order_by(Store.name)))

    def _store_page(self, session: Session, person: Person, t: Translator, page: int) -> Reply:
        """Open assignments first (on the first page), then assigned stores, then the rest."""
        assigned = {s.id for s in person.stores}
        stores = sorted(self._stores(session), key=lambda s: (s.id not in assigned, s.name))
        if not stores:
            return Reply(t("pick.no_stores"), menu=True)
        rows = self._assignment_rows(session, person, t) if page == 0 else []
        rows += [
            [(("⭐ " if s.id in assigned else "") + s.name, f"s:{s.id}")]
            for s in _page(stores, page)
        ]
        return Reply(t("pick.store"), _freeze([*rows, _pager("st:{}", page, len(stores), t)]))

    def _assignment_rows(
        self, session: Session, person: Person, t: Translator
    ) -> list[list[Button]]:
        today = datetime.now(self.zone).date()
        rows = []
        for assignment in assignments.open_for(session, person.id, today):
            version_id = self.checklist_versions.get(assignment.checklist_id)
            version = session.get(ChecklistVersion, version_id) if version_id else None
            if (
                version is None
                or not assignment.store.active
                or not assignment.store.offers(version.channel)
            ):
                continue
            label = t(
                "pick.assignment",
                store=assignment.store.name,
                checklist=str(version.definition["title"][t.language]),
                until=f"{assignment.closes_on:%d.%m}",
            )
            rows.append([(label, f"cl:{assignment.store_id}:{version.id}")])
        return rows

    def _checklist_page(self, session: Session, store: Store, t: Translator) -> Reply:
        versions = session.scalars(
            select(ChecklistVersion)
            .where(ChecklistVersion.id.in_(self.checklist_versions.values()))
            .order_by(ChecklistVersion.checklist_id)
        ).all()
        rows = [
            [(str(v.definition["title"][t.language]), f"cl:{store.id}:{v.id}")]
            for v in versions
            if store.offers(v.channel)
        ]
        rows.append([(t("button.other_store"), "st:0")])
        return Reply(t("pick.checklist", store=escape(store.name)), _freeze(rows))

    def _employee_page(
        self, session: Session, store: Store, version: ChecklistVersion, t: Translator, page: int
    ) -> Reply:
        staff = session.scalars(
            select(Employee)
            .where(Employee.store_id == store.id, Employee.active)
            .order_by(Employee.name)
        ).all()
        prefix = f"{store.id}:{version.id}"
        rows = [
            [(f"{e.name} · {e.position}" if e.position else e.name, f"em:{prefix}:{e.id}")]
            for e in _page(list(staff), page)
        ]
        rows.append(_pager(f"ep:{prefix}:{{}}", page, len(staff), t))
        rows.append([(t("button.not_in_list"), f"em:{prefix}:0")])
        return Reply(t("pick.employee", store=escape(store.name)), _freeze(rows))

    # Inside a visit

    def _visit_action(
        self,
        session: Session,
        person: Person,
        t: Translator,
        op: str,
        numbers: list[int],
        now: datetime,
    ) -> Outcome:
        if len(numbers) < 2:
            return self._refuse(session, person, t, "error.bad_button")
        visit_id, index = numbers[0], numbers[1]
        draft = draft_of(session, person.id, self._clock(now), visit_id)
        if draft is None:
            visit = session.get(Visit, visit_id)
            mine = visit is not None and visit.evaluator_id == person.id
            reason = "error.visit_finished" if mine else "error.bad_button"
            if not mine:
                log.warning(
                    "button for visit %s pressed by %s, who does not own it", visit_id, person.id
                )
            return self._refuse(session, person, t, reason)
        try:
            return self._apply(draft, t, op, index, numbers[2:], now)
        except AnswerRejected as rejected:
            return self._refuse(session, person, t, f"reject.{rejected.reason}", **rejected.params)
        except FlowError as error:
            return self._refuse(session, person, t, f"error.{error.reason}", **error.params)

    def _apply(
        self, draft: VisitFlow, t: Translator, op: str, index: int, args: list[int], now: datetime
    ) -> Outcome:
        toast = None
        match op:
            case "ans" if len(args) == 1:
                item = draft.check_current(index)
                draft.answer(item, item.kind.button_value(item, args[0]))
            case "na":
                draft.not_applicable(draft.check_current(index))
            case "skip":
                draft.skip(draft.check_current(index))
            case "back":
                if index >= 0:
                    draft.check_current(index)
                elif draft.visit.current_item is not None:
                    raise FlowError("stale")
                draft.back()
            case "t0":
                draft.start_timer(draft.check_current(index))
            case "t1":
                seconds = draft.stop_timer(draft.check_current(index))
                toast = t("visit.timer_stopped", seconds=seconds)
            case "cmt":
                draft.ask_comment(draft.check_current(index))
            case "res" | "cxn":
                draft.keep()
            case "done":
                draft.photos_done(draft.check_current(index))
            case "rev":
                draft.check_current(index)
                draft.review()
            case "edit":
                draft.edit(index)
            case "sub":
                return self._submit(draft, t)
            case "cx":
                draft.ask_cancel()
            case "cxy":
                draft.cancel()
                return self._out(t, edit=Reply(t("visit.cancelled"), menu=True))
            case _:
                raise FlowError("bad_button")
        return self._out(t, toast=toast, edit=render(draft.screen(), t))

    def _submit(self, draft: VisitFlow, t: Translator) -> Outcome:
        if draft.visit.current_item is not None or draft.visit.awaiting is not None:
            raise FlowError("stale")
        if draft.missing():
            raise FlowError("missing_answers", count=len(draft.missing()))
        screen = draft.screen()
        now = datetime.now(self.zone)
        submission = submit_visit(draft.session, draft.visit.id, self.rules, now, now.date())
        result = visits.score_of(draft.visit)
        reply = submitted(screen, result, t)
        if submission is not None and submission.flags:
            reply = Reply(reply.text + "\n\n" + t("done.review_pending"), menu=reply.menu)
        outcome = self._out(t, edit=reply)
        if result.critical_failed:
            outcome.notify = self._critical_alerts(draft, result.critical_failures)
        return outcome

    def _critical_alerts(
        self, draft: VisitFlow, failures: tuple[str, ...]
    ) -> list[tuple[int, str]]:
        visit = draft.visit
        managers = draft.session.scalars(
            select(Person).where(
                Person.role == Role.MANAGER, Person.active, Person.telegram_id.is_not(None)
            )
        ).all()
        alerts = []
        for manager in managers:
            if visit.store_id not in {s.id for s in manager.stores}:
                continue
            t = Translator(pick_language(manager.language, self.default_language))
            items = ", ".join(draft.checklist.item(i).prompt.get(t.language) for i in failures)
            text = t(
                "alert.critical",
                visit=visit.id,
                store=escape(visit.store.name),
                pseudonym=visit.evaluator.pseudonym,
                score=percent(visit.score, t),
                items=escape(items),
                employee=escape(
                    visit.employee.name if visit.employee else visit.employee_description or "—"
                ),
            )
            alerts.append((int(manager.telegram_id or 0), text))
        return alerts

    def _typed(self, draft: VisitFlow, text: str, t: Translator, now: datetime) -> Outcome:
        try:
            if draft.visit.awaiting == Awaiting.DESCRIPTION:
                draft.describe_employee(text)
            elif draft.visit.awaiting == Awaiting.COMMENT:
                draft.comment(text)
            elif draft.visit.awaiting == Awaiting.CANCEL or draft.visit.current_item is None:
                return self._out(t, send=[Reply(t("visit.use_buttons")), render(draft.screen(), t)])
            else:
                item = draft.checklist.item(draft.visit.current_item)
                if not item.kind.typed:
                    return self._out(
                        t, send=[Reply(t("visit.use_buttons")), render(draft.screen(), t)]
                    )
                draft.answer(item, text)
        except AnswerRejected as rejected:
            explanation = t(f"reject.{rejected.reason}", **rejected.params)
        except FlowError as error:
            explanation = t(f"error.{error.reason}", **error.params)
        else:
            return self._out(t, send=[render(draft.screen(), t)])
        return self._out(t, send=[Reply(explanation), render(draft.screen(), t)])

    # Helpers

    def _unfinished(self, draft: VisitFlow, t: Translator) -> Reply:
        visit = draft.visit
        rows: Rows = (
            (
                (t("button.resume"), f"res:{visit.id}:-1"),
                (t("button.cancel_visit"), f"cx:{visit.id}:-1"),
            ),
        )
        return Reply(t("visit.unfinished", store=escape(visit.store.name)), rows)

    def _refuse(
        self, session: Session, person: Person, t: Translator, key: str, **params: object
    ) -> Outcome:
        """A short explanation, and the current question again so nothing is lost."""
        outcome = self._out(t, toast=t(key, **params), alert=True)
        draft = draft_of(session, person.id, self._clock())
        if draft is not None:
            outcome.send.append(render(draft.screen(), t))
        return outcome

    def _person(self, session: Session, who: people.TelegramIdentity) -> Person | None:
        person = people.person_by_telegram_id(session, who.telegram_id)
        return person if person is not None and person.active else None

    def _evaluator(
        self, session: Session, who: people.TelegramIdentity
    ) -> tuple[Person | None, Translator, Outcome | None]:
        person = self._person(session, who)
        t = self._t(who, person)
        if person is None:
            return None, t, Outcome(send=[Reply(t("start.stranger"))], language=t.language)
        if person.role not in VISIT_ROLES:
            return person, t, Outcome(send=[Reply(t("visit.not_for_role"))], language=t.language)
        return person, t, None

    def _t(self, who: people.TelegramIdentity, person: Person | None) -> Translator:
        return Translator(
            pick_language(
                who.language or (person.language if person else None), self.default_language
            )
        )

    def _clock(self, now: datetime | None = None) -> Clock:
        return Clock.fixed(now, self.zone) if now is not None else Clock(self.zone)

    def _out(self, t: Translator, **fields: Any) -> Outcome:
        return answer_in(t, **fields)


T = TypeVar("T")
Action = Callable[[Session, Person, Translator, VisitFlow | None], Outcome]
PICKER_OPS = frozenset({"st", "s", "cl", "ep", "em"})
EARLIEST_WEEK = Week(2000, 1)
"""Reports for earlier weeks are refused: their 8-week trend would start before year 1."""
INVITATION_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _page(rows: list[T], page: int) -> list[T]:
    return rows[page * PAGE : (page + 1) * PAGE]


def _pager(pattern: str, page: int, total: int, t: Translator) -> list[Button]:
    buttons = []
    if page > 0:
        buttons.append((t("button.previous"), pattern.format(page - 1)))
    if (page + 1) * PAGE < total:
        buttons.append((t("button.next"), pattern.format(page + 1)))
    return buttons


def _freeze(rows: list[list[Button]]) -> Rows:
    return tuple(tuple(row) for row in rows if row)
