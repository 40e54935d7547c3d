"""Snapshots keep the model's strength unrounded, in double precision.

A tie is shown a whole strength, and strength saturates: at 200,000 messages fifteen or
more ties show 100, and the model's strengths of the strongest differ in the seventh
significant digit (99.999992 against 99.999985), below what `real` holds. The column now
holds the unrounded strength in double precision, so every reader that orders by it
(service/ties/snapshots.py, pages.py, digest/inputs.py) lists such ties as the model ranks
them; what a reader is shown is still the payload's whole number (shape.SHOWN_STRENGTH).
Rows written before keep their whole numbers.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE score_snapshots ALTER COLUMN strength TYPE double precision")


def downgrade() -> None:
    op.execute("ALTER TABLE score_snapshots ALTER COLUMN strength TYPE real")
