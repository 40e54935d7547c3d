"""The raw flags each accuracy check found, for the deployment's flag gate.

Each scoring's accuracy check (0014) also counts the user's raw cooling and dormant flags
as they stood 90 days before the scoring and what came of them since
(analytics/flag_gate.Counts). Pooled over the deployment's users, those counts decide
whether a flag is shown (service/ties/flag_pool.py). NULL: the check had nothing to count
(too little history, or no mail since).

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE accuracy_checks ADD COLUMN flag_counts jsonb;")
    op.execute("CREATE INDEX accuracy_checks_scored_at ON accuracy_checks (scored_at);")


def downgrade() -> None:
    op.execute("DROP INDEX accuracy_checks_scored_at;")
    op.execute("ALTER TABLE accuracy_checks DROP COLUMN flag_counts;")
