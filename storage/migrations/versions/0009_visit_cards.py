"""visit cards: each counted visit's card to its store's managers, seen or disputed

The cards take over the critical-failure alerts (a card of such a visit says so first), so
the visit's own "alerted" mark goes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visit_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispute_reason", sa.Text(), nullable=True),
        sa.Column("dispute_outcome", sa.String(length=16), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("sending_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unknown_outcomes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visit.id"], name="fk_visit_card_visit_id_visit", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["person.id"], name="fk_visit_card_manager_id_person"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["person.id"], name="fk_visit_card_decided_by_id_person"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_visit_card"),
        sa.UniqueConstraint("visit_id", "manager_id", name="uq_visit_card_visit_id"),
    )
    op.create_index("ix_visit_card_visit_id", "visit_card", ["visit_id"])
    op.create_index("ix_visit_card_status", "visit_card", ["status"])
    with op.batch_alter_table("visit") as batch_op:
        batch_op.drop_column("alerted_at")


def downgrade() -> None:
    with op.batch_alter_table("visit") as batch_op:
        batch_op.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE visit SET alerted_at = submitted_at"
        " WHERE critical_failed AND submitted_at IS NOT NULL"
    )
    op.drop_index("ix_visit_card_status", table_name="visit_card")
    op.drop_index("ix_visit_card_visit_id", table_name="visit_card")
    op.drop_table("visit_card")
