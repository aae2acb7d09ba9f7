"""one incident per report request: request_key

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_key", sa.String(length=250), nullable=True))
        batch_op.create_unique_constraint("uq_incidents_request_key", ["request_key"])


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_incidents_request_key", type_="unique")
        batch_op.drop_column("request_key")
