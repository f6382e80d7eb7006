"""field conversation: employee data optional, alerts once, the live question, flag facts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visit") as batch_op:
        batch_op.add_column(
            sa.Column("asks_employee", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("screen_message_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("visit_flag") as batch_op:
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=True))
    with op.batch_alter_table("photo") as batch_op:
        batch_op.add_column(sa.Column("caption", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="photo")
        )
        batch_op.add_column(sa.Column("duration", sa.Integer(), nullable=True))
    # A person's language was their Telegram app's until now; from here on it is the one
    # they choose with /language, and nobody has chosen yet.
    op.execute("UPDATE person SET language = NULL")
    # Visits alerted about before this revision were alerted at submission.
    op.execute(
        "UPDATE visit SET alerted_at = submitted_at"
        " WHERE critical_failed AND submitted_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("photo") as batch_op:
        batch_op.drop_column("duration")
        batch_op.drop_column("kind")
        batch_op.drop_column("caption")
    with op.batch_alter_table("visit_flag") as batch_op:
        batch_op.drop_column("params")
    with op.batch_alter_table("visit") as batch_op:
        batch_op.drop_column("screen_message_id")
        batch_op.drop_column("alerted_at")
        batch_op.drop_column("asks_employee")
