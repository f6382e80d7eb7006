"""Workbooks asked for in the chat: ``/report`` (a person's own scope) and an admin's
``/resend`` of a week to every recipient."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from bot.service.base import Request, Setting
from bot.service.outcome import Outcome, Reply, ReportRequest
from exports import delivery
from exports.weeks import Week
from storage.models import Role

EARLIEST_WEEK = Week(2000, 1)
"""Reports for earlier weeks are refused: their 8-week trend would start before year 1."""


@dataclass
class ReportRequests:
    setting: Setting

    def report(self, r: Request, week_text: str | None) -> Outcome:
        """``/report [WEEK]``: the person's own scope, for the last complete week or a given one."""
        if r.person is None:
            return r.stranger()
        scope = delivery.scope_of(r.person)
        if scope is None:
            return r.say("report.not_allowed")
        week = self._week(r, week_text)
        if isinstance(week, Outcome):
            return week
        return r.out(
            send=[Reply(r.t("report.building", week=week.label))],
            report=ReportRequest(week, scope),
        )

    def resend(self, r: Request, week_text: str | None) -> Outcome:
        """``/resend WEEK``: an admin sends a week's workbooks to every recipient again."""
        if r.person is None:
            return r.stranger()
        if r.person.role != Role.ADMIN:
            return r.say("report.admins_only")
        if not week_text:
            return r.say("report.resend_usage", example=self._latest().label)
        week = self._week(r, week_text)
        if isinstance(week, Outcome):
            return week
        count = delivery.resend(r.session, week, delivery.recipients(r.session))
        return r.out(
            send=[Reply(r.t("report.resent", week=week.label, count=count))], deliver_now=True
        )

    def _latest(self) -> Week:
        """The last complete week: the default, and the example in every hint."""
        clock = self.setting.clock
        return Week.last_complete(clock.now(), clock.zone)

    def _week(self, r: Request, text: str | None) -> Week | Outcome:
        latest = self._latest()
        if not text:
            return latest
        try:
            week = Week.parse(text)
        except ValueError:
            return r.say("report.bad_week", text=escape(text), example=latest.label)
        if week < EARLIEST_WEEK:
            # A workbook looks weeks back for its trend: near year 1 that is no date at all.
            return r.say("report.bad_week", text=escape(text), example=latest.label)
        if week > latest:
            return r.say("report.future_week", week=week.label)
        return week
