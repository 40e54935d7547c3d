"""Coverage of a backfill, and of the scores made before it finished.

A first sync reads the newest mail first, so while it runs everything after some moment is
stored and everything before it is still arriving: `sync_state.covered_since` is that
moment (NULL when nothing is covered yet, or when it does not apply), and
`sync_state.backfill_started_at` when the first pass began (for a rate). Scores computed
while a backfill runs are provisional: `score_coverage` keeps, for such a snapshot, the
moment its mail starts (NULL: no mail was complete yet). A snapshot without a row is final.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE sync_state ADD COLUMN covered_since timestamptz;
ALTER TABLE sync_state ADD COLUMN backfill_started_at timestamptz;
CREATE TABLE score_coverage (
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    as_of         timestamptz NOT NULL,
    covered_since timestamptz,
    PRIMARY KEY (user_id, as_of)
);
""")


def downgrade() -> None:
    op.execute("""
DROP TABLE score_coverage;
ALTER TABLE sync_state DROP COLUMN backfill_started_at;
ALTER TABLE sync_state DROP COLUMN covered_since;
""")
