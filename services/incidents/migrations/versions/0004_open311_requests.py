"""Open311 requests: token, client and answers beside the incident (ADR 30)

Revision ID: 0004_open311_requests
Revises: 0003_request_fingerprint
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_open311_requests"
down_revision = "0003_request_fingerprint"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "open311_requests",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=36), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("incident_id"),
        sa.UniqueConstraint("token"),
    )


def downgrade() -> None:
    op.drop_table("open311_requests")
