"""corrective actions that close: opened by failed standards, closed, verified or reopened

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("corrective_action") as batch_op:
        batch_op.alter_column("manager_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("checklist_id", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="open")
        )
        batch_op.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("closed_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("closed_photo", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verified_by_visit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reopened_by_visit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("due_before_reopen", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("reopens", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("overdue_reminded_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            "fk_corrective_action_closed_by_id_person", "person", ["closed_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_corrective_action_verified_by_visit_id_visit",
            "visit",
            ["verified_by_visit_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            "fk_corrective_action_reopened_by_visit_id_visit",
            "visit",
            ["reopened_by_visit_id"],
            ["id"],
        )
    # Actions from before: their checklist is their visit's; one marked done was closed.
    op.execute(
        "UPDATE corrective_action SET checklist_id = (SELECT checklist_version.checklist_id"
        " FROM visit JOIN checklist_version ON checklist_version.id = visit.checklist_version_id"
        " WHERE visit.id = corrective_action.visit_id)"
    )
    op.execute("UPDATE corrective_action SET status = 'closed' WHERE done_at IS NOT NULL")


def downgrade() -> None:
    op.execute("DELETE FROM corrective_action WHERE manager_id IS NULL")
    with op.batch_alter_table("corrective_action") as batch_op:
        batch_op.drop_constraint(
            "fk_corrective_action_reopened_by_visit_id_visit", type_="foreignkey"
        )
        batch_op.drop_constraint(
            "fk_corrective_action_verified_by_visit_id_visit", type_="foreignkey"
        )
        batch_op.drop_constraint("fk_corrective_action_closed_by_id_person", type_="foreignkey")
        for column in (
            "overdue_reminded_at",
            "reminded_at",
            "reopens",
            "reopened_by_visit_id",
            "due_before_reopen",
            "reopened_at",
            "verified_by_visit_id",
            "verified_at",
            "closed_photo",
            "closed_note",
            "closed_by_id",
            "status",
            "checklist_id",
        ):
            batch_op.drop_column(column)
        batch_op.alter_column("manager_id", existing_type=sa.Integer(), nullable=False)
