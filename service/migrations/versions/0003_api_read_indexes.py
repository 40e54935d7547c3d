"""Indexes the JSON API reads by: a page of ties in snapshot order.

`GET /v1/ties` pages one snapshot by (strength, person_id) with a keyset cursor; with this
index a page reads its 50 rows from the index instead of sorting every tie of the user.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX score_snapshots_page ON score_snapshots (user_id, as_of, strength, person_id)")


def downgrade() -> None:
    op.execute("DROP INDEX score_snapshots_page")
