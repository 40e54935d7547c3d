"""Teams: an index that serves an organisation's reach in the order of its answer.

An organisation's reach lists its 500 best-placed people: each address once, with its
best holder (band, then month, then user id), ordered by that band and month, then by
address. Through `team_shared_ties_domain_address` (address first) it had to read every
row of the domain and sort them: ~31,000 rows and 40 ms for the largest domain of
tests/bench/bench_team.py, more than a single worker has at 50 requests/s.
`team_shared_ties_domain_rank` holds a domain's rows in the answer's order (band, month,
address, user id), so the first row of each address read from the top is its best holder:
the reach reads the first 1,000 rows and stops (service/teams/shares.reach_json).

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX team_shared_ties_domain_rank"
        " ON team_shared_ties (team_id, domain, band DESC, month DESC NULLS LAST, address, user_id)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX team_shared_ties_domain_rank")
