"""OAuth flows bound to the browser that started them, and confirmed before they attach.

`nonce_hash` is the SHA-256 of the random nonce the starting browser holds in an HttpOnly
cookie (or the CLI process in memory); the callback must present it. `answered_at` marks
the callback that exchanged the code: the tokens then wait, encrypted in `payload`, for
the confirmation whose token is hashed in `confirm_hash`; `used_at` ends the flow.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE oauth_states ADD COLUMN nonce_hash bytea, "
        "ADD COLUMN answered_at timestamptz, ADD COLUMN confirm_hash bytea"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE oauth_states DROP COLUMN nonce_hash, DROP COLUMN answered_at, DROP COLUMN confirm_hash")
