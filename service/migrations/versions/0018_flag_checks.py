"""The flag gate's own table: each user's raw flags of a month and what came of them.

0017 kept the counts with each accuracy check, one per scoring, for the calls of 90 days
before it. The gate now counts one moment a month (the first), as the development figures
and the yardstick's replay do, and a new user's first scoring counts the months of their
history at once (service/ties/flag_pool.py), which a scoring's single check could not.
One row per (user, month); rows go with the user (ON DELETE CASCADE) and are in the
user's export. The 0017 column goes.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE flag_checks (
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    flags_at     timestamptz NOT NULL,
    counts       jsonb NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, flags_at)
);
CREATE INDEX flag_checks_flags_at ON flag_checks (flags_at);
DROP INDEX accuracy_checks_scored_at;
ALTER TABLE accuracy_checks DROP COLUMN flag_counts;
""")


def downgrade() -> None:
    op.execute("""
ALTER TABLE accuracy_checks ADD COLUMN flag_counts jsonb;
CREATE INDEX accuracy_checks_scored_at ON accuracy_checks (scored_at);
DROP TABLE flag_checks;
""")
