"""roster and swap history: every status change through the lifecycle helper

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _history(table: str, key: str, parent: str) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(key, sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=30), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint([key], [f"{parent}.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_{key}"), [key], unique=False)


def upgrade() -> None:
    _history("roster_history", "roster_id", "rosters")
    _history("swap_history", "swap_id", "swaps")


def downgrade() -> None:
    op.drop_table("swap_history")
    op.drop_table("roster_history")
