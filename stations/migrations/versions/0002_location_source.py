"""Stations' and candidates' location precision and source, candidates' own type text (issue 12).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stations.migrations import forward_only

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stations", sa.Column("location_precision", sa.String(16), nullable=False,
                                        server_default=""))
    op.add_column("stations", sa.Column("location_source", sa.String(16), nullable=False,
                                        server_default=""))
    op.add_column("candidates", sa.Column("host_type_text", sa.Text, nullable=False,
                                          server_default=""))
    op.add_column("candidates", sa.Column("location_source", sa.String(16), nullable=False,
                                          server_default=""))


def downgrade() -> None:
    forward_only()
