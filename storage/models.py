"""The database schema. Alembic migrations in ``storage/migrations`` create it.

Times are stored as timezone-aware UTC; week boundaries are computed in the deployment's
zone in Python: SQLite's ``strftime('%W')`` is not the ISO week and ``%V`` returns NULL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
    }


class Role(StrEnum):
    ADMIN = "admin"
    EVALUATOR = "evaluator"
    MANAGER = "manager"
    HR = "hr"


class VisitStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VOIDED = "voided"
    CANCELLED = "cancelled"


class ReviewStatus(StrEnum):
    """Where a submitted visit stands with the admins (None on the visit: no review needed)."""

    PENDING = "pending"
    """Flagged by an integrity check: it waits for an admin and does not count yet."""
    ACCEPTED = "accepted"
    """Flagged, and an admin decided it counts."""
    REJECTED = "rejected"
    """Returned to the shopper to fix and submit again before a deadline."""


class Decision(StrEnum):
    """What an admin decided about a flagged visit."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    VOID = "void"


class FlagKind(StrEnum):
    """An integrity check a visit failed (each has a ``flag.<kind>`` message)."""

    FAR_FROM_STORE = "far_from_store"
    TOO_FAST = "too_fast"
    TYPED_TIMER = "typed_timer"
    DUPLICATE_PHOTO = "duplicate_photo"
    REPEAT_VISIT = "repeat_visit"


class PendingKind(StrEnum):
    """What a person's next typed message answers, outside a visit."""

    REVIEW_REASON = "review_reason"
    """An admin's reason for returning or voiding a visit."""
    DISPUTE_REASON = "dispute_reason"
    """A store manager's reason for disputing a visit."""
    CORRECTION_REASON = "correction_reason"
    """An admin's reason for correcting an answer of a visit under review."""
    CORRECTION_VALUE = "correction_value"
    """The right answer an admin types when correcting a typed answer."""
    ACTION = "action"
    """A manager's corrective action."""
    ACTION_DUE = "action_due"
    """The date the manager's corrective action is due."""
    ACTION_DONE = "action_done"
    """What a manager did about a corrective action they are closing."""
    ACTION_PHOTO = "action_photo"
    """The photo of what was done (or Skip), closing the action."""
    ROLE_SWITCH = "role_switch"
    """A registered person opened an invitation for another role: their yes or no to it."""


class Awaiting(StrEnum):
    """What typed text means for a draft besides an answer to the current item."""

    DESCRIPTION = "description"
    COMMENT = "comment"
    CANCEL = "cancel"


person_store = Table(
    "person_store",
    Base.metadata,
    Column("person_id", ForeignKey("person.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("store.id", ondelete="CASCADE"), primary_key=True),
)

invitation_store = Table(
    "invitation_store",
    Base.metadata,
    Column("invitation_id", ForeignKey("invitation.id", ondelete="CASCADE"), primary_key=True),
    Column("store_id", ForeignKey("store.id", ondelete="CASCADE"), primary_key=True),
)


class Store(Base):
    __tablename__ = "store"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    timezone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    channels: Mapped[str | None] = mapped_column(String(64))
    """The ways customers reach this store that shoppers check (``store,phone``), comma-
    separated; None: every channel."""

    employees: Mapped[list[Employee]] = relationship(back_populates="store")

    def offers(self, channel: str) -> bool:
        """Whether checklists of ``channel`` apply to this store."""
        return self.channels is None or channel in self.channels.split(",")


class Employee(Base):
    __tablename__ = "employee"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200), default="")
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    store: Mapped[Store] = relationship(back_populates="employees")


class Person(Base):
    """Someone who uses the bot; reports show evaluators only by ``pseudonym``."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    """The language the person chose with /language; None: the deployment's."""
    role: Mapped[Role] = mapped_column(String(16))
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_latitude: Mapped[float | None] = mapped_column(Float)
    last_longitude: Mapped[float | None] = mapped_column(Float)
    last_location_at: Mapped[datetime | None]

    stores: Mapped[list[Store]] = relationship(secondary=person_store, order_by=Store.code)


class Invitation(Base):
    """A one-time code, given as a deep link, that registers a person in a role."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    note: Mapped[str] = mapped_column(String(200), default="")

    stores: Mapped[list[Store]] = relationship(secondary=invitation_store, order_by=Store.code)


class ChecklistVersion(Base):
    """A checklist as it was at one version; visits point here, so edits never rewrite them."""

    __tablename__ = "checklist_version"
    __table_args__ = (UniqueConstraint("checklist_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    definition: Mapped[dict[str, Any]]
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Visit(Base):
    __tablename__ = "visit"
    __table_args__ = (
        Index("ix_visit_status_submitted_at", "status", "submitted_at"),
        Index("ix_visit_store_submitted_at", "store_id", "submitted_at"),
        Index("ix_visit_employee_submitted_at", "employee_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[VisitStatus] = mapped_column(String(16), default=VisitStatus.DRAFT)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    employee_description: Mapped[str | None] = mapped_column(Text)
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    checklist_version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    critical_failed: Mapped[bool | None] = mapped_column(Boolean)
    nps: Mapped[int | None]
    current_item: Mapped[str | None] = mapped_column(String(40))
    awaiting: Mapped[Awaiting | None] = mapped_column(String(16))
    back_to_review: Mapped[bool] = mapped_column(Boolean, default=False)
    timer_item: Mapped[str | None] = mapped_column(String(40))
    timer_started_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(Text)
    review_status: Mapped[ReviewStatus | None] = mapped_column(String(16))
    """None: no review needed."""
    checkin_latitude: Mapped[float | None] = mapped_column(Float)
    checkin_longitude: Mapped[float | None] = mapped_column(Float)
    checkin_at: Mapped[datetime | None]
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id"))
    resubmit_until: Mapped[datetime | None]
    asks_employee: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """Whether the shopper names or describes the employee (off when the deployment collects
    no employee data)."""
    screen_message_id: Mapped[int | None] = mapped_column(BigInteger)
    """The chat message that shows the draft's live question; older copies lose their buttons."""

    store: Mapped[Store] = relationship()
    employee: Mapped[Employee | None] = relationship()
    evaluator: Mapped[Person] = relationship()
    checklist_version: Mapped[ChecklistVersion] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", order_by="Answer.id"
    )
    photos: Mapped[list[Photo]] = relationship(cascade="all, delete-orphan", order_by="Photo.id")


class Answer(Base):
    """One item's answer; ``score`` is the item's 0..1 score, fixed when the visit is submitted."""

    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("visit_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(40))
    value_text: Mapped[str | None] = mapped_column(Text)
    value_number: Mapped[float | None] = mapped_column(Float)
    na: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str | None] = mapped_column(Text)
    measured: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    score: Mapped[float | None] = mapped_column(Float)
    weight: Mapped[float | None] = mapped_column(Float)

    visit: Mapped[Visit] = relationship(back_populates="answers")


class AttachmentKind(StrEnum):
    """What a shopper sent as evidence: Telegram's kind of message."""

    PHOTO = "photo"
    VOICE = "voice"
    AUDIO = "audio"
    VIDEO_NOTE = "video_note"
    DOCUMENT = "document"
    """An audio or video file sent as a file (a call recorder's .wav, say)."""


class Photo(Base):
    """A photo or a recording a shopper sent during a visit, for an item or the visit."""

    __tablename__ = "photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str | None] = mapped_column(String(40))
    file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str] = mapped_column(String(128), index=True)
    caption: Mapped[str | None] = mapped_column(Text)
    """What the shopper wrote under the photo."""
    kind: Mapped[AttachmentKind] = mapped_column(
        String(16), default=AttachmentKind.PHOTO, server_default=AttachmentKind.PHOTO.value
    )
    duration: Mapped[int | None]
    """A recording's length in seconds, as Telegram gives it."""
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryStatus(StrEnum):
    """Where a ledger row stands (``exports.delivery`` moves it along)."""

    PENDING = "pending"
    """Due; nobody has it."""
    CLAIMED = "claimed"
    """A process is building its workbook."""
    SENDING = "sending"
    """A process has started the upload: from here on, Telegram may have it."""
    SENT = "sent"
    FAILED = "failed"
    """The last try failed for sure (Telegram said no, or nothing was sent); retried later."""
    UNKNOWN = "unknown"
    """An upload was written and no answer came: it may or may not have arrived."""
    SKIPPED = "skipped"
    """The person no longer receives reports."""


class LedgerRow:
    """The columns of a row that goes out exactly once; ``storage.ledger`` moves it along."""

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[DeliveryStatus] = mapped_column(
        String(16), default=DeliveryStatus.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sending_at: Mapped[datetime | None]
    unknown_outcomes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportDelivery(LedgerRow, Base):
    """The ledger that makes each (period, recipient) go out exactly once.

    A worker *claims* a row with a conditional update and a token of its own before building
    and sending, renews the claim while it works, and records the outcome only while the
    token still matches, so two bot processes on one database never both send a row; a
    failed send waits for ``next_attempt_at``.
    """

    __tablename__ = "report_delivery"
    __table_args__ = (UniqueConstraint("period", "recipient_id"),)

    period: Mapped[str] = mapped_column(String(32))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    scope: Mapped[str] = mapped_column(String(400))
    workbook_hash: Mapped[str | None] = mapped_column(String(64))
    file_path: Mapped[str | None] = mapped_column(Text)

    recipient: Mapped[Person] = relationship()


class DisputeOutcome(StrEnum):
    """What an admin decided about a manager's dispute of a visit."""

    UPHELD = "upheld"
    """The visit stands as it is (or as corrected)."""
    VOIDED = "voided"
    """The visit no longer counts."""


class VisitCard(LedgerRow, Base):
    """A visit's card to one of its store's managers, once the visit counts: sent once per
    (visit, manager) through the ledger, then the manager's ✔ Seen or ⚑ Dispute on it."""

    __tablename__ = "visit_card"
    __table_args__ = (UniqueConstraint("visit_id", "manager_id"),)

    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), index=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    """The chat message that shows the card, so that Seen can update it."""
    seen_at: Mapped[datetime | None]
    disputed_at: Mapped[datetime | None]
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    dispute_outcome: Mapped[DisputeOutcome | None] = mapped_column(String(16))
    """None while the dispute waits for an admin (or when there is none)."""
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)

    visit: Mapped[Visit] = relationship()
    manager: Mapped[Person] = relationship(foreign_keys=[manager_id])


class Notice(LedgerRow, Base):
    """A message to someone who did not write — a reminder, a decision told — sent once
    through the ledger (``storage.notices``)."""

    __tablename__ = "notice"

    recipient_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    """HTML, worded in the recipient's language when the notice was added."""

    recipient: Mapped[Person] = relationship()


class AuditEvent(Base):
    """Who did what to which record, and why: kept for every administrative change."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(80), index=True)
    details: Mapped[str] = mapped_column(Text, default="")


class HandledUpdate(Base):
    """Telegram update ids already acted on: getUpdates and webhooks deliver at least once,
    so an update seen again (after a crash, or sent to two processes) changes nothing."""

    __tablename__ = "handled_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    handled_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AssignmentStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Assignment(Base):
    """A visit an admin asks a shopper to make: a store, a checklist, a window of dates."""

    __tablename__ = "assignment"
    __table_args__ = (Index("ix_assignment_evaluator_status", "evaluator_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"))
    checklist_id: Mapped[str] = mapped_column(String(40))
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    """The last local day of the window, inclusive."""
    status: Mapped[AssignmentStatus] = mapped_column(String(16), default=AssignmentStatus.OPEN)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reminded_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]

    store: Mapped[Store] = relationship()
    evaluator: Mapped[Person] = relationship()


class VisitFlag(Base):
    """An integrity check a visit did not pass; such a visit waits for an admin's review."""

    __tablename__ = "visit_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), index=True)
    kind: Mapped[FlagKind] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text, default="")
    """The facts in plain English, for the command line and the audit."""
    params: Mapped[dict[str, Any] | None]
    """The same facts as values, worded in each reader's language (``flag.<kind>.details``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewDecision(Base):
    """An admin's decision on a flagged visit, kept with who and when."""

    __tablename__ = "review_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), index=True)
    decision: Mapped[Decision] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionStatus(StrEnum):
    """Where a corrective action stands."""

    OPEN = "open"
    """To be done (again, when a later visit failed the standard after it was closed)."""
    CLOSED = "closed"
    """A manager said what was done; the next counted visit will verify it."""
    VERIFIED = "verified"
    """A counted visit after the closing met the standard."""


class CorrectiveAction(Base):
    """What a store does about a failed standard, by when, and whether it held.

    Opened automatically for a failed critical standard or one the checklist marks
    ``action: required`` (``manager_id`` None: owned by the store's managers), or by a
    manager with ``/followup`` (their promise in ``action``). Closed by a manager with what
    was done and perhaps a photo; verified or reopened by the next counted visit to the store
    that answers the standard."""

    __tablename__ = "corrective_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("store.id"), index=True)
    checklist_id: Mapped[str | None] = mapped_column(String(40))
    """The checklist of the standard: a later visit with the same checklist verifies it."""
    item_id: Mapped[str] = mapped_column(String(40))
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    """The manager who promised it; None: opened automatically, owned by the store's managers."""
    action: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[ActionStatus] = mapped_column(
        String(16), default=ActionStatus.OPEN, server_default=ActionStatus.OPEN.value
    )
    done_at: Mapped[datetime | None]
    """When a manager closed it (None while open)."""
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    closed_note: Mapped[str | None] = mapped_column(Text)
    """What was done, as the manager wrote it."""
    closed_photo: Mapped[str | None] = mapped_column(String(256))
    """Telegram's file id of the photo the manager sent with the closing."""
    verified_at: Mapped[datetime | None]
    verified_by_visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    reopened_at: Mapped[datetime | None]
    reopened_by_visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    due_before_reopen: Mapped[date | None] = mapped_column(Date)
    """The due date the action had when it was closed, restored if its reopening is undone."""
    reopens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reminded_at: Mapped[datetime | None]
    """When the store's managers were reminded the day before it is due."""
    overdue_reminded_at: Mapped[datetime | None]
    """When they were told it is overdue."""

    store: Mapped[Store] = relationship()
    visit: Mapped[Visit] = relationship(foreign_keys=[visit_id])
    owner: Mapped[Person | None] = relationship(foreign_keys=[manager_id])
    closed_by: Mapped[Person | None] = relationship(foreign_keys=[closed_by_id])
    verified_by: Mapped[Visit | None] = relationship(foreign_keys=[verified_by_visit_id])


class PendingInput(Base):
    """What a person's next typed message means outside a visit: an admin's reason for a
    review decision, a manager's corrective action or its due date."""

    __tablename__ = "pending_input"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[PendingKind] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
