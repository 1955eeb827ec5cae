"""Worker reports: client key, dragged pin, how the union settled them; QR plaque visits per
station and day (issue 13).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stations.migrations import forward_only

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("client", sa.String(64)))
        batch.add_column(sa.Column("lon", sa.Float))
        batch.add_column(sa.Column("lat", sa.Float))
        batch.add_column(sa.Column("settled_at", sa.DateTime))
        batch.add_column(sa.Column("settled_by", sa.Text))
        batch.add_column(sa.Column("resolution", sa.String(32)))
        batch.add_column(sa.Column("settle_reason", sa.Text))
        batch.create_index("ix_reports_station_id", ["station_id"])
    op.create_table(
        "plaque_visits",
        sa.Column("station_id", sa.Integer, sa.ForeignKey("stations.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("visits", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    forward_only()
