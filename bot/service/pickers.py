"""Choosing what to visit: the store (assigned ones first, or the nearest), the checklist
(only those of the store's channels), then the employee."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from typing import TypeVar

from sqlalchemy import select

from bot.callbacks import Op, Pressed, encode
from bot.service import drafts
from bot.service.base import Request, Setting
from bot.service.outcome import Button, Outcome, Reply, rows
from bot.service.screens import render
from storage.drafts import Records
from storage.models import ChecklistVersion, Employee, Person, Store
from visits import assignments
from visits.flow import VisitFlow, start_visit
from visits.integrity import distance_m

PAGE = 8
T = TypeVar("T")


@dataclass
class Pickers:
    setting: Setting

    def press(self, r: Request, pressed: Pressed) -> Outcome:
        """A picker button: refused while a draft is open, or if it names what the shopper
        may not pick (another store's employee, a checklist not of the store's channels)."""
        assert r.person is not None
        session, op, numbers = r.session, pressed.op, pressed.numbers()
        if drafts.current(r, self.setting) is not None:
            return drafts.refuse(r, self.setting, "error.draft_open")
        if op == Op.STORES:
            return r.out(edit=self.store_page(r, numbers[0]))
        store = session.get(Store, numbers[0])
        if store is None or not store.active:
            return drafts.refuse(r, self.setting, "error.bad_button")
        if op == Op.STORE:
            return r.out(edit=self._checklist_page(r, store))
        version = session.get(ChecklistVersion, numbers[1])
        if (
            version is None
            or self.setting.checklist_versions.get(version.checklist_id) != version.id
            or not store.offers(version.channel)
        ):
            return drafts.refuse(r, self.setting, "error.bad_button")
        if op == Op.CHECKLIST:
            return r.out(edit=self._employee_page(r, store, version, 0))
        if op == Op.EMPLOYEES:
            return r.out(edit=self._employee_page(r, store, version, numbers[2]))
        employee = session.get(Employee, numbers[2]) if numbers[2] else None
        if numbers[2] and (
            employee is None or employee.store_id != store.id or not employee.active
        ):
            return drafts.refuse(r, self.setting, "error.bad_button")
        return r.out(edit=render(self._start(r, r.person, store, version, employee).screen(), r.t))

    def _start(
        self,
        r: Request,
        person: Person,
        store: Store,
        version: ChecklistVersion,
        employee: Employee | None,
    ) -> VisitFlow:
        """A new draft; a location shared shortly before is its check-in."""
        clock = self.setting.clock
        flow = start_visit(Records(r.session), person, store, version, employee, clock)
        located = person.last_location_at
        fresh = timedelta(minutes=self.setting.rules.checkin_fresh_minutes)
        if located is not None and clock.now() - located <= fresh:
            assert person.last_latitude is not None and person.last_longitude is not None
            flow.check_in(person.last_latitude, person.last_longitude, located)
        return flow

    def store_page(self, r: Request, page: int) -> Reply:
        """Open assignments first (on the first page), then assigned stores, then the rest."""
        assert r.person is not None
        t = r.t
        assigned = {s.id for s in r.person.stores}
        stores = sorted(self._stores(r), key=lambda s: (s.id not in assigned, s.name))
        if not stores:
            return Reply(t("pick.no_stores"), menu=True)
        found = self._assignment_rows(r) if page == 0 else []
        found += [
            [(("⭐ " if s.id in assigned else "") + s.name, encode(Op.STORE, s.id))]
            for s in _page(stores, page)
        ]
        pager = _pager(lambda n: encode(Op.STORES, n), page, len(stores), r)
        return Reply(t("pick.store"), rows(*found, pager))

    def nearest(self, r: Request, latitude: float, longitude: float) -> Reply:
        """Stores by their distance from a shared location, the nearest first."""
        located = [
            (distance_m(latitude, longitude, s.latitude, s.longitude) / 1000, s)
            for s in self._stores(r)
            if s.latitude is not None and s.longitude is not None
        ]
        if not located:
            return self.store_page(r, 0)
        located.sort(key=lambda pair: pair[0])
        found = [
            [(r.t("pick.store_distance", store=s.name, km=f"{km:.1f}"), encode(Op.STORE, s.id))]
            for km, s in located[:PAGE]
        ]
        return Reply(r.t("pick.nearest"), rows(*found))

    def _stores(self, r: Request) -> list[Store]:
        return list(r.session.scalars(select(Store).where(Store.active).order_by(Store.name)))

    def _assignment_rows(self, r: Request) -> list[list[Button]]:
        assert r.person is not None
        session, versions = r.session, self.setting.checklist_versions
        found = []
        for assignment in assignments.open_for(session, r.person.id, self.setting.clock.today()):
            version_id = versions.get(assignment.checklist_id)
            version = session.get(ChecklistVersion, version_id) if version_id else None
            if (
                version is None
                or not assignment.store.active
                or not assignment.store.offers(version.channel)
            ):
                continue
            label = r.t(
                "pick.assignment",
                store=assignment.store.name,
                checklist=str(version.definition["title"][r.t.language]),
                until=f"{assignment.closes_on:%d.%m}",
            )
            found.append([(label, encode(Op.CHECKLIST, assignment.store_id, version.id))])
        return found

    def _checklist_page(self, r: Request, store: Store) -> Reply:
        versions = r.session.scalars(
            select(ChecklistVersion)
            .where(ChecklistVersion.id.in_(self.setting.checklist_versions.values()))
            .order_by(ChecklistVersion.checklist_id)
        ).all()
        found = [
            [(str(v.definition["title"][r.t.language]), encode(Op.CHECKLIST, store.id, v.id))]
            for v in versions
            if store.offers(v.channel)
        ]
        found.append([(r.t("button.other_store"), encode(Op.STORES, 0))])
        return Reply(r.t("pick.checklist", store=escape(store.name)), rows(*found))

    def _employee_page(
        self, r: Request, store: Store, version: ChecklistVersion, page: int
    ) -> Reply:
        staff = r.session.scalars(
            select(Employee)
            .where(Employee.store_id == store.id, Employee.active)
            .order_by(Employee.name)
        ).all()
        found = [
            [
                (
                    f"{e.name} · {e.position}" if e.position else e.name,
                    encode(Op.EMPLOYEE, store.id, version.id, e.id),
                )
            ]
            for e in _page(list(staff), page)
        ]
        found.append(
            _pager(lambda n: encode(Op.EMPLOYEES, store.id, version.id, n), page, len(staff), r)
        )
        found.append([(r.t("button.not_in_list"), encode(Op.EMPLOYEE, store.id, version.id, 0))])
        return Reply(r.t("pick.employee", store=escape(store.name)), rows(*found))


def _page(items: list[T], page: int) -> list[T]:
    return items[page * PAGE : (page + 1) * PAGE]


def _pager(data: Callable[[int], str], page: int, total: int, r: Request) -> list[Button]:
    buttons = []
    if page > 0:
        buttons.append((r.t("button.previous"), data(page - 1)))
    if (page + 1) * PAGE < total:
        buttons.append((r.t("button.next"), data(page + 1)))
    return buttons
