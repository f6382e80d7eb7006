"""Choosing what to visit: the store (assigned ones first, or the nearest), the checklist
(only those of the store's channels), then the employee."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Protocol, TypeVar

from babel.numbers import format_decimal

from bot.callbacks import Op, Pressed, encode
from bot.i18n import Translator
from bot.service import drafts
from bot.service.base import Request, Setting
from bot.service.outcome import Button, Outcome, Reply, rows
from bot.service.screens import render
from checklists.schema import Channel
from storage.checklist_versions import definition
from storage.drafts import Records
from storage.models import ChecklistVersion, Employee, Person, Store
from storage.picking import SessionShelf, Shelf
from visits.flow import FlowError, VisitFlow, VisitRecords, start_visit
from visits.integrity import distance_m

PAGE = 8
T = TypeVar("T")


class StartRecords(VisitRecords, Protocol):
    def last_visit_time(self, evaluator_id: int) -> datetime | None:
        """When the shopper's latest visit ended (its submission, else its start)."""
        ...


@dataclass(frozen=True)
class Picking:
    """A shopper choosing: their language, who they are, where the pickers read from (the
    full path's session, or the quick path's statements: ``storage.picking``)."""

    t: Translator
    person_id: int
    shelf: Shelf


@dataclass(frozen=True)
class Refusal:
    """A picker button naming what the shopper may not pick: the catalogue key of why."""

    key: str


@dataclass(frozen=True)
class Start:
    """The last choice was made: a new draft of ``version`` at ``store``."""

    store: Store
    version: ChecklistVersion
    employee: Employee | None


Picked = Reply | Refusal | Start


@dataclass
class Pickers:
    setting: Setting

    def picking(self, r: Request) -> Picking:
        assert r.person is not None
        return Picking(r.t, r.person.id, SessionShelf(r.session))

    def press(self, r: Request, pressed: Pressed) -> Outcome:
        """A picker button: refused if it names what the shopper may not pick (another
        store's employee, a checklist not of the store's channels), or while a draft is open
        unless it changes that draft's employee."""
        assert r.person is not None
        draft = drafts.current(r, self.setting)
        if draft is not None:
            return self._press_in_draft(r, draft, pressed.op, pressed.numbers())
        match self.pick(self.picking(r), pressed):
            case Refusal(key):
                return drafts.refuse(r, self.setting, key)
            case Start(store, version, employee):
                flow = self.start(Records(r.session), r.person, store, version, employee)
                return r.out(edit=render(flow.screen(), r.t))
            case Reply() as page:
                return r.out(edit=page)

    def pick(self, p: Picking, pressed: Pressed) -> Picked:
        """What a picker button shows next, by a shopper with no draft."""
        op, numbers, shelf = pressed.op, pressed.numbers(), p.shelf
        if op == Op.STORES:
            return self.store_page(p, numbers[0])
        if op in (Op.EMPLOYEES, Op.EMPLOYEE) and not self.setting.employee_names:
            return Refusal("error.bad_button")  # no staff list at all
        store = shelf.store(numbers[0])
        if store is None or not store.active:
            return Refusal("error.bad_button")
        if op == Op.STORE:
            return self._checklist_page(p, store)
        version = shelf.version(numbers[1])
        if (
            version is None
            or self.setting.checklist_versions.get(version.checklist_id) != version.id
            or not store.offers(version.channel)
        ):
            return Refusal("error.bad_button")
        if op == Op.CHECKLIST and not self.setting.employee_names:
            # The deployment collects no employee data: no one is chosen or described.
            return Start(store, version, None)
        if op == Op.CHECKLIST:
            return self._employee_page(p, store, version, 0)
        if op == Op.EMPLOYEES:
            return self._employee_page(p, store, version, numbers[2])
        try:
            return Start(store, version, self._employee(shelf, store, numbers[2]))
        except FlowError as error:
            return Refusal(f"error.{error.reason}")

    def _employee(self, shelf: Shelf, store: Store, employee_id: int) -> Employee | None:
        """The store's active employee ``employee_id``, or None for "not in the list" (0)."""
        if not employee_id:
            return None
        employee = shelf.employee(employee_id)
        if employee is None or employee.store_id != store.id or not employee.active:
            raise FlowError("bad_button")
        return employee

    def _press_in_draft(
        self, r: Request, draft: VisitFlow, op: Op, numbers: tuple[int, ...]
    ) -> Outcome:
        """With a draft open, only its own employee list works: to change its employee."""
        visit = draft.visit
        ours = (
            op in (Op.EMPLOYEES, Op.EMPLOYEE)
            and numbers[:2] == (visit.store_id, visit.checklist_version_id)
            and draft.may_change_employee()
        )
        if not ours:
            return drafts.refuse(r, self.setting, "error.draft_open")
        p = self.picking(r)
        if op == Op.EMPLOYEES:
            page = self._employee_page(p, visit.store, visit.checklist_version, numbers[2], draft)
            return r.out(edit=page)
        try:
            draft.change_employee(self._employee(p.shelf, visit.store, numbers[2]))
        except FlowError as error:
            return drafts.refuse(r, self.setting, f"error.{error.reason}")
        return r.out(edit=render(draft.screen(), r.t))

    def change_employee(self, r: Request, draft: VisitFlow, index: int) -> Reply:
        """The employee list again, from the first question or from describing the employee
        (``index``: the item the button was shown for, -1 while describing)."""
        visit = draft.visit
        if index >= 0:
            draft.check_current(index)
        if not draft.may_change_employee():
            raise FlowError("stale")
        return self._employee_page(self.picking(r), visit.store, visit.checklist_version, 0, draft)

    def start(
        self,
        records: StartRecords,
        person: Person,
        store: Store,
        version: ChecklistVersion,
        employee: Employee | None,
    ) -> VisitFlow:
        """A new draft. A store visit takes as its check-in a location the shopper shared
        shortly before and after their previous visit (to find the nearest store, say); a
        call or a chat has none."""
        clock = self.setting.clock
        located = person.last_location_at
        fresh = timedelta(minutes=self.setting.rules.checkin_fresh_minutes)
        checks_in = (
            version.channel == Channel.STORE
            and located is not None
            and clock.now() - located <= fresh
        )
        since = records.last_visit_time(person.id) if checks_in else None
        names = self.setting.employee_names
        flow = start_visit(records, person, store, version, employee, clock, asks_employee=names)
        if checks_in and located is not None and (since is None or located > since):
            assert person.last_latitude is not None and person.last_longitude is not None
            flow.check_in(person.last_latitude, person.last_longitude, located)
        return flow

    def store_page(self, p: Picking, page: int) -> Reply:
        """Open assignments first (on the first page), then assigned stores, then the rest."""
        t = p.t
        assigned = p.shelf.assigned_store_ids(p.person_id)
        stores = sorted(p.shelf.active_stores(), key=lambda s: (s.id not in assigned, s.name))
        if not stores:
            return Reply(t("pick.no_stores"), menu=True)
        found = self._assignment_rows(p) if page == 0 else []
        found += [
            [(("⭐ " if s.id in assigned else "") + s.name, encode(Op.STORE, s.id))]
            for s in _page(stores, page)
        ]
        pager = _pager(lambda n: encode(Op.STORES, n), page, len(stores), t)
        return Reply(t("pick.store"), rows(*found, pager))

    def nearest(self, r: Request, latitude: float, longitude: float) -> Reply:
        """Stores by their distance from a shared location, the nearest first."""
        p = self.picking(r)
        located = [
            (distance_m(latitude, longitude, s.latitude, s.longitude) / 1000, s)
            for s in p.shelf.active_stores()
            if s.latitude is not None and s.longitude is not None
        ]
        if not located:
            return self.store_page(p, 0)
        located.sort(key=lambda pair: pair[0])
        found = [
            [(r.t("pick.store_distance", store=s.name, km=_km(km, r)), encode(Op.STORE, s.id))]
            for km, s in located[:PAGE]
        ]
        return Reply(r.t("pick.nearest"), rows(*found))

    def _assignment_rows(self, p: Picking) -> list[list[Button]]:
        current = self.setting.checklist_versions
        opened = p.shelf.open_assignments(p.person_id, self.setting.clock.today())
        wanted = {current[a.checklist_id] for a in opened if a.checklist_id in current}
        versions = {v.checklist_id: v for v in p.shelf.versions(wanted)} if wanted else {}
        found = []
        for assignment in opened:
            version = versions.get(assignment.checklist_id)
            store = assignment.store
            if version is None or not store.active or not store.offers(version.channel):
                continue
            label = p.t(
                "pick.assignment",
                store=store.name,
                checklist=_title(version, p.t),
                until=f"{assignment.closes_on:%d.%m}",
            )
            found.append([(label, encode(Op.CHECKLIST, store.id, version.id))])
        return found

    def _checklist_page(self, p: Picking, store: Store) -> Reply:
        versions = p.shelf.versions(set(self.setting.checklist_versions.values()))
        found = [
            [(_title(v, p.t), encode(Op.CHECKLIST, store.id, v.id))]
            for v in versions
            if store.offers(v.channel)
        ]
        found.append([(p.t("button.other_store"), encode(Op.STORES, 0))])
        return Reply(p.t("pick.checklist", store=escape(store.name)), rows(*found))

    def _employee_page(
        self,
        p: Picking,
        store: Store,
        version: ChecklistVersion,
        page: int,
        draft: VisitFlow | None = None,
    ) -> Reply:
        """Who served the shopper; with a ``draft``, to change who it was."""
        t = p.t
        staff = p.shelf.employees(store.id)
        found = [
            [
                (
                    f"{e.name} · {e.position}" if e.position else e.name,
                    encode(Op.EMPLOYEE, store.id, version.id, e.id),
                )
            ]
            for e in _page(staff, page)
        ]
        found.append(
            _pager(lambda n: encode(Op.EMPLOYEES, store.id, version.id, n), page, len(staff), t)
        )
        found.append([(t("button.not_in_list"), encode(Op.EMPLOYEE, store.id, version.id, 0))])
        if draft is None:
            back = (t("button.back"), encode(Op.STORE, store.id))
        else:
            back = (t("button.back_to_question"), encode(Op.RESUME, draft.visit.id, -1))
        found.append([back])
        return Reply(t("pick.employee", store=escape(store.name)), rows(*found))


def _title(version: ChecklistVersion, t: Translator) -> str:
    return definition(version).title.get(t.language)


def _page(items: list[T], page: int) -> list[T]:
    return items[page * PAGE : (page + 1) * PAGE]


def _pager(data: Callable[[int], str], page: int, total: int, t: Translator) -> list[Button]:
    buttons = []
    if page > 0:
        buttons.append((t("button.previous"), data(page - 1)))
    if (page + 1) * PAGE < total:
        buttons.append((t("button.next"), data(page + 1)))
    return buttons


def _km(km: float, r: Request) -> str:
    """``1,5`` in Russian, ``1.5`` in English."""
    return format_decimal(km, format="0.0", locale=r.t.language)
