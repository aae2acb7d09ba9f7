"""crew managed as data (absences, one name per antenna); the owner's contact on the consent
record and the log of its reads

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crew_absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["crew_members.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_crew_absences_member_id", "crew_absences", ["member_id"])
    op.create_index("ux_crew_members_antenna_name", "crew_members", ["antenna_id", "name"],
                    unique=True)
    op.create_table(
        "contact_access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("organisation", sa.String(length=50), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_contact_access_log_job_id", "contact_access_log", ["job_id"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("consent_owner_phone", sa.String(length=50), nullable=True))
        batch.add_column(sa.Column("consent_owner_email", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("consent_owner_email")
        batch.drop_column("consent_owner_phone")
    op.drop_index("ix_contact_access_log_job_id", table_name="contact_access_log")
    op.drop_table("contact_access_log")
    op.drop_index("ux_crew_members_antenna_name", table_name="crew_members")
    op.drop_index("ix_crew_absences_member_id", table_name="crew_absences")
    op.drop_table("crew_absences")
