"""API tokens, the user's rules and feedback, digest settings and the outbox.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE api_tokens (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL UNIQUE,
    prefix        text NOT NULL,
    name          text NOT NULL DEFAULT 'default',
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Allow or block an address or a domain; the user's word wins over every filter.
CREATE TABLE rules (
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('address', 'domain')),
    value       text NOT NULL,
    action      text NOT NULL CHECK (action IN ('allow', 'block')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind, value)
);

CREATE TABLE org_domains (
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    domain      text NOT NULL,
    PRIMARY KEY (user_id, domain)
);

CREATE TABLE feedback (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    person_id   bigint NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('not_relationship', 'matters', 'snooze')),
    until       date,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_user ON feedback (user_id, person_id);

CREATE TABLE merge_suggestions (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    addresses   text[] NOT NULL,
    evidence    jsonb NOT NULL DEFAULT '[]',
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, addresses)
);

CREATE TABLE digest_settings (
    user_id       bigint PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    weekday       smallint NOT NULL DEFAULT 0 CHECK (weekday BETWEEN 0 AND 6),  -- 0 = Monday
    hour          smallint NOT NULL DEFAULT 8 CHECK (hour BETWEEN 0 AND 23),
    enabled       boolean NOT NULL DEFAULT true,
    quiet_mode    text NOT NULL DEFAULT 'note' CHECK (quiet_mode IN ('note', 'skip')),
    snooze_until  date
);

-- Exactly one digest per user and week: rendered, then sent.
CREATE TABLE outbox (
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    week          date NOT NULL,
    state         text NOT NULL CHECK (state IN ('rendered', 'sending', 'sent', 'skipped')),
    message_id    text NOT NULL,
    subject       text NOT NULL DEFAULT '',
    message       bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz,
    PRIMARY KEY (user_id, week)
);

-- Short-lived OAuth state (state, PKCE verifier, who asked), single use.
CREATE TABLE oauth_states (
    state         text PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider      text NOT NULL,
    payload       bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    used_at       timestamptz
);
"""

DOWN = """
DROP TABLE oauth_states, outbox, digest_settings, merge_suggestions, feedback, org_domains, rules, api_tokens;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
