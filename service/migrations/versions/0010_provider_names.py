"""Which providers exist is the registry's to say (service.providers.REGISTRY), not the schema's.

0001 listed the providers in a CHECK on accounts.provider, a second list that made adding a
provider a schema change. The database now guards only the shape of a name (lower-case, at
most 32 characters); the code that creates accounts takes the name from the registry (OAuth)
or from the importer (mbox, ics, memory). Downgrading restores the old list, and fails if an
account of another provider exists (as it must: the old schema cannot hold it).

Revision ID: 0010
Revises: 0005
"""

from alembic import op

revision = "0010"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
ALTER TABLE accounts DROP CONSTRAINT accounts_provider_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_provider_name CHECK (provider ~ '^[a-z][a-z0-9_]{0,31}$');
""")


def downgrade() -> None:
    op.execute("""
ALTER TABLE accounts DROP CONSTRAINT accounts_provider_name;
ALTER TABLE accounts ADD CONSTRAINT accounts_provider_check
    CHECK (provider IN ('google', 'microsoft', 'mbox', 'ics', 'memory'));
""")
