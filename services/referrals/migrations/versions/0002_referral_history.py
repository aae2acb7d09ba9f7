"""referral_history: every status change of a referral, with who, when and why

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "referral_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=30), nullable=False),
        sa.Column("actor_organisation", sa.String(length=50), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_referral_history_referral_id", "referral_history", ["referral_id"])
    # Referrals sent before this revision get their first row, so no history starts midway.
    op.execute("INSERT INTO referral_history (referral_id, from_status, to_status, actor, "
               "actor_role, actor_organisation, at, note) SELECT id, NULL, 'sent', sender_user, "
               "'unknown', sender_org, sent_at, 'recorded before histories were kept' "
               "FROM referrals")


def downgrade() -> None:
    op.drop_index("ix_referral_history_referral_id", table_name="referral_history")
    op.drop_table("referral_history")
