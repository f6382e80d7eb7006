"""field operations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:34:44.359781
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("checklist_id", sa.String(length=40), nullable=False),
        sa.Column("evaluator_id", sa.Integer(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["evaluator_id"], ["person.id"], name=op.f("fk_assignment_evaluator_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_assignment_store_id_store")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment")),
    )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assignment_evaluator_status", ["evaluator_id", "status"], unique=False
        )

    op.create_table(
        "corrective_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=40), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["person.id"], name=op.f("fk_corrective_action_manager_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["store.id"], name=op.f("fk_corrective_action_store_id_store")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visit.id"],
            name=op.f("fk_corrective_action_visit_id_visit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrective_action")),
    )
    with op.batch_alter_table("corrective_action", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_corrective_action_store_id"), ["store_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_corrective_action_visit_id"), ["visit_id"], unique=False
        )

    op.create_table(
        "review_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["person.id"], name=op.f("fk_review_decision_decided_by_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visit.id"],
            name=op.f("fk_review_decision_visit_id_visit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decision")),
    )
    with op.batch_alter_table("review_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_decision_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "visit_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visit.id"],
            name=op.f("fk_visit_flag_visit_id_visit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_flag")),
    )
    with op.batch_alter_table("visit_flag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_flag_visit_id"), ["visit_id"], unique=False)

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("last_longitude", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("last_location_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("checkin_latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("checkin_longitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("checkin_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("assignment_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resubmit_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_visit_assignment_id_assignment"), "assignment", ["assignment_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_visit_assignment_id_assignment"), type_="foreignkey"
        )
        batch_op.drop_column("resubmit_until")
        batch_op.drop_column("assignment_id")
        batch_op.drop_column("checkin_at")
        batch_op.drop_column("checkin_longitude")
        batch_op.drop_column("checkin_latitude")
        batch_op.drop_column("review_status")

    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("last_location_at")
        batch_op.drop_column("last_longitude")
        batch_op.drop_column("last_latitude")

    with op.batch_alter_table("visit_flag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_flag_visit_id"))

    op.drop_table("visit_flag")
    with op.batch_alter_table("review_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_decision_visit_id"))

    op.drop_table("review_decision")
    with op.batch_alter_table("corrective_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_corrective_action_visit_id"))
        batch_op.drop_index(batch_op.f("ix_corrective_action_store_id"))

    op.drop_table("corrective_action")
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_assignment_evaluator_status")

    op.drop_table("assignment")
