"""How right Kith has been on a user's mail, kept with the scoring it belongs to.

The dashboard's panel "How right Kith has been on your mail" (service/ties/evidence.py)
costs about a scoring run to measure. It is now measured when a scoring is written and
kept here, one row per (user, scoring moment), so a page load only reads it. Rows go with
the user (ON DELETE CASCADE) and are in the user's export.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE accuracy_checks (
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scored_at    timestamptz NOT NULL,
    payload      jsonb NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, scored_at)
);
""")


def downgrade() -> None:
    op.execute("DROP TABLE accuracy_checks;")
