"""Core schema: users, accounts, credentials, people, interactions, sync state, scores.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UP = """
CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    name        text,
    timezone    text NOT NULL DEFAULT 'UTC',
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every address that is the user: given, sendAs, account addresses, From in Sent.
CREATE TABLE user_addresses (
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address     text NOT NULL,
    source      text NOT NULL,
    PRIMARY KEY (user_id, address)
);

CREATE TABLE accounts (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider        text NOT NULL CHECK (provider IN ('google', 'microsoft', 'mbox', 'ics', 'memory')),
    address         text NOT NULL,
    status          text NOT NULL DEFAULT 'initial'
                    CHECK (status IN ('initial', 'incremental', 'full_resync', 'auth_revoked', 'disabled')),
    scopes          text[] NOT NULL DEFAULT '{}',
    last_error      text,
    last_synced_at  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, provider, address)
);

-- Refresh tokens / msal caches, Fernet-encrypted with KITH_SECRET_KEY.
CREATE TABLE credentials (
    account_id  bigint PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    ciphertext  bytea NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sync_state (
    account_id      bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    resource        text NOT NULL,
    cursor          text,
    state           text NOT NULL DEFAULT 'initial'
                    CHECK (state IN ('initial', 'incremental', 'full_resync', 'auth_revoked', 'disabled')),
    generation      integer NOT NULL DEFAULT 0,
    items_seen      bigint NOT NULL DEFAULT 0,
    items_total     bigint,
    cursor_advanced_at timestamptz,
    last_error      text,
    PRIMARY KEY (account_id, resource)
);

CREATE TABLE people (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    display_name  text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_user ON people (user_id);

-- One person, many addresses; `source` is 'auto' or 'manual' (hand merges survive syncs).
CREATE TABLE person_addresses (
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address     text NOT NULL,
    person_id   bigint NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    source      text NOT NULL DEFAULT 'auto',
    PRIMARY KEY (user_id, address)
);
CREATE INDEX person_addresses_person ON person_addresses (person_id);

CREATE TABLE interactions (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    account_id    bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    provider_id   text NOT NULL,
    resource      text NOT NULL DEFAULT '',
    kind          text NOT NULL CHECK (kind IN ('email', 'meeting')),
    occurred_at   timestamptz NOT NULL,
    thread_id     text,
    message_id    text,
    in_reply_to   text,
    refs          text[] NOT NULL DEFAULT '{}',
    duration_s    integer,
    all_day       boolean NOT NULL DEFAULT false,
    status        text NOT NULL DEFAULT 'confirmed',
    labels        text[] NOT NULL DEFAULT '{}',
    is_sent       boolean,
    is_draft      boolean NOT NULL DEFAULT false,
    headers       jsonb NOT NULL DEFAULT '{}',
    n_participants integer NOT NULL DEFAULT 0,
    sync_generation integer NOT NULL DEFAULT 0,
    UNIQUE (account_id, provider_id)
);
CREATE INDEX interactions_user_time ON interactions (user_id, occurred_at);
CREATE INDEX interactions_message_id ON interactions (user_id, message_id);

CREATE TABLE participants (
    interaction_id  bigint NOT NULL REFERENCES interactions(id) ON DELETE CASCADE,
    user_id         bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address         text NOT NULL,
    role            text NOT NULL CHECK (role IN ('from', 'to', 'cc', 'bcc', 'organizer', 'attendee')),
    name            text,
    response        text,
    PRIMARY KEY (interaction_id, role, address)
);
CREATE INDEX participants_user_address ON participants (user_id, address);

CREATE TABLE score_snapshots (
    user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    person_id     bigint NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    as_of         timestamptz NOT NULL,
    strength      real NOT NULL,
    tier          text NOT NULL,
    reciprocity   integer NOT NULL,
    flags         text[] NOT NULL DEFAULT '{}',
    payload       jsonb NOT NULL DEFAULT '{}',
    computed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, as_of, person_id)
);
CREATE INDEX score_snapshots_person ON score_snapshots (person_id, as_of);

-- Items that could not be read: header excerpt and reason, never a body.
CREATE TABLE quarantine (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    account_id  bigint REFERENCES accounts(id) ON DELETE CASCADE,
    resource    text NOT NULL DEFAULT '',
    ref         text NOT NULL,
    reason      text NOT NULL,
    excerpt     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, resource, ref)
);
"""

DOWN = """
DROP TABLE quarantine, score_snapshots, participants, interactions, person_addresses, people,
           sync_state, credentials, accounts, user_addresses, users CASCADE;
"""


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
