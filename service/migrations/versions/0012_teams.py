"""Teams: members, invitations, the minimal shared view of each sharing member's ties, and
introduction requests.

What a team holds of a member is `team_shared_ties`: for each contact address of the
member's latest snapshot, a band (3 strong, 2 medium, 1 weak) and the month of the last
two-way contact, nothing else. Rows exist only while the member shares: turning sharing off
or leaving deletes them (and leaving deletes the membership, which cascades to the
introduction requests that name the member). Deleting a user cascades through all of it.

Indexes: `team_shared_ties_member_domain` answers "who knows" for a domain with one probe
per member (tests/bench/bench_team.py measures it at 50 members x 5,000 contacts);
`team_shared_ties_domain_address` serves an organisation's people and address lookups;
`team_shared_ties_strong` key-person risk.

Revision ID: 0012
Revises: 0010
"""

from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

UP = """
CREATE TABLE teams (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    created_by  bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE team_members (
    team_id     bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'member')),
    sharing     boolean NOT NULL DEFAULT false,
    joined_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);

-- A signed token names the row; the row makes it single-use and bound to one address.
CREATE TABLE team_invitations (
    id          bigserial PRIMARY KEY,
    team_id     bigint NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    email       text NOT NULL,
    invited_by  bigint REFERENCES users(id) ON DELETE SET NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX team_invitations_team ON team_invitations (team_id);

CREATE TABLE team_shared_ties (
    team_id     bigint NOT NULL,
    user_id     bigint NOT NULL,
    address     text COLLATE "C" NOT NULL,  -- byte order: sorted and compared as keys, not prose
    domain      text COLLATE "C" NOT NULL,
    band        smallint NOT NULL CHECK (band BETWEEN 1 AND 3),
    month       date,
    PRIMARY KEY (team_id, user_id, address),
    FOREIGN KEY (team_id, user_id) REFERENCES team_members (team_id, user_id) ON DELETE CASCADE
);
-- "who knows" for a domain: per sharing member, one probe for their best tie there.
CREATE INDEX team_shared_ties_member_domain
    ON team_shared_ties (team_id, user_id, domain, band DESC, month DESC NULLS LAST) INCLUDE (address);
-- An organisation's people (and one address): the best holder of each address at a domain.
CREATE INDEX team_shared_ties_domain_address
    ON team_shared_ties (team_id, domain, address, band DESC, month DESC NULLS LAST, user_id);
-- Key-person risk reads only the strong ties.
CREATE INDEX team_shared_ties_strong ON team_shared_ties (team_id, domain, user_id) INCLUDE (month) WHERE band = 3;

CREATE TABLE team_intro_requests (
    id            bigserial PRIMARY KEY,
    team_id       bigint NOT NULL,
    requester_id  bigint NOT NULL,
    holder_id     bigint NOT NULL,
    address       text NOT NULL,
    note          text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    decided_at    timestamptz,
    CHECK (requester_id <> holder_id),
    FOREIGN KEY (team_id, requester_id) REFERENCES team_members (team_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (team_id, holder_id) REFERENCES team_members (team_id, user_id) ON DELETE CASCADE
);
CREATE INDEX team_intro_requests_holder ON team_intro_requests (holder_id, status);
CREATE INDEX team_intro_requests_requester ON team_intro_requests (requester_id);
"""

DOWN = "DROP TABLE team_intro_requests, team_shared_ties, team_invitations, team_members, teams"


def upgrade() -> None:
    op.execute(UP)


def downgrade() -> None:
    op.execute(DOWN)
