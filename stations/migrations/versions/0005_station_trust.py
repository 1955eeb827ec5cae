"""Stations' trust state from workers' reports (issue 13): ``trust`` ok/flagged, the flagged
``problem`` and its ``trust_reason``, the day of the last "still correct" report
(``confirmed_on``) and the amenities reports put in doubt (``amenity_notes``); the reports'
``client`` column is called ``client_key`` (the day's salted key, never an address).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stations.migrations import forward_only

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stations") as batch:
        batch.add_column(sa.Column("trust", sa.String(16), nullable=False, server_default="ok"))
        batch.add_column(sa.Column("problem", sa.String(32)))
        batch.add_column(sa.Column("trust_reason", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("confirmed_on", sa.Date))
        batch.add_column(sa.Column("amenity_notes", sa.JSON))
    with op.batch_alter_table("reports") as batch:
        batch.alter_column("client", new_column_name="client_key",
                           existing_type=sa.String(64))


def downgrade() -> None:
    forward_only()
