"""Dashboard sessions: a random id of their own, held server-side, revoked at sign-out.

The browser's cookie carries the session id, never an API token; only its SHA-256 is
stored, as with tokens. A session dies when it expires, when it is signed out, and when the
token it was opened with is revoked or deleted (the foreign key and the lookup's join).

Revision ID: 0005
Revises: 0003
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
CREATE TABLE dashboard_sessions (
    id            bigserial PRIMARY KEY,
    session_hash  bytea NOT NULL UNIQUE,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_id      bigint NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz
);
CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_id);
CREATE INDEX dashboard_sessions_token ON dashboard_sessions (token_id);
""")


def downgrade() -> None:
    op.execute("DROP TABLE dashboard_sessions")
