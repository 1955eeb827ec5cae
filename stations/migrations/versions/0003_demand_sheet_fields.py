"""Demand points: coordinates may wait for a pin; the sheet's type, precision, address, note
(issue 16).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stations.migrations import forward_only

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("demand_points") as batch:
        batch.alter_column("lon", existing_type=sa.Float, nullable=True)
        batch.alter_column("lat", existing_type=sa.Float, nullable=True)
        batch.add_column(sa.Column("kind", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("precision", sa.String(16), nullable=False,
                                   server_default="input"))
        batch.add_column(sa.Column("address", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("note", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    forward_only()
