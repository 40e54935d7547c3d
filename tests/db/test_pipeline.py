"""End to end on the synthetic world: files in, through the importers and the store, ties out."""

from datetime import timedelta

import pytest

from ingest.sandbox.world import BODY_MARKER, generate_world, write_ics, write_mbox
from service import store
from service.imports import import_file
from service.ties.scoring import compute_ties, score_user
from service.ties.snapshots import list_ties

TIE_KEYS = {
    "contact",
    "name",
    "addresses",
    "strength",
    "tier",
    "reciprocity",
    "flags",
    "last_interaction",
    "explanation",
    "ledger",
}


@pytest.fixture(scope="module")
def world():
    return generate_world(7)


@pytest.fixture
def imported(database, world, tmp_path):
    # Both of the user's accounts (personal Google, work Microsoft) as files.
    with database.tx() as conn:
        user_id = store.create_user(conn, world.user_email, world.user_name)
    for account in ("google", "microsoft"):
        mbox, ics = tmp_path / f"{account}.mbox", tmp_path / f"{account}.ics"
        write_mbox(world, mbox, account)
        write_ics(world, ics, account)
        import_file(database, user_id, "mbox", mbox, addresses=list(world.own_addresses))
        import_file(database, user_id, "ics", ics)
    return user_id, mbox, ics


def _count(database, table, user_id):
    with database.tx() as conn:
        return conn.execute(f"SELECT count(*) FROM {table} WHERE user_id = %s", (user_id,)).fetchone()[0]


def test_world_files_become_ties_in_the_design_shape(database, world, imported):
    user_id, _, _ = imported
    # Given the world's Google mailbox and calendar imported, when the user is scored
    ties = score_user(database, user_id)
    # Then every tie has the DESIGN shape and ranges
    assert len(ties) > 10
    for tie in ties:
        assert set(tie) >= TIE_KEYS
        assert 0 <= tie["strength"] <= 100 and -100 <= tie["reciprocity"] <= 100
        assert set(tie["flags"]) <= {"cooling", "dormant", "one_sided_you", "one_sided_them"}
    # And the user's own addresses are never a contact
    own = {a.lower() for a in world.own_addresses}
    assert not own & {a for t in ties for a in t["addresses"]}
    # And the world's strong steady ties rank above its weak ones
    by_contact = {a: t for t in ties for a in t["addresses"]}
    strong = [
        by_contact[t.address]["strength"]
        for t in world.truth.values()
        if t.archetype == "strong_steady" and t.address in by_contact
    ]
    weak = [
        by_contact[t.address]["strength"]
        for t in world.truth.values()
        if t.archetype == "weak_occasional" and t.address in by_contact
    ]
    assert strong and weak and min(strong) > max(weak)
    # And the snapshot is what list_ties reads back
    with database.tx() as conn:
        assert [t["person_id"] for t in list_ties(conn, user_id)] == [t["person_id"] for t in ties]


def test_importing_twice_changes_nothing(database, imported):
    user_id, mbox, ics = imported
    before = (_count(database, "interactions", user_id), _count(database, "participants", user_id))
    import_file(database, user_id, "mbox", mbox, restart=True)
    import_file(database, user_id, "ics", ics, restart=True)
    assert (_count(database, "interactions", user_id), _count(database, "participants", user_id)) == before


def test_bodies_never_reach_the_database(database, world, imported):
    # Given mail whose bodies all carry a marker phrase, imported
    assert all(BODY_MARKER in m.body for m in world.messages_for("google"))
    user_id, _, _ = imported
    score_user(database, user_id)
    # When every row of every table is dumped as text, then the marker is nowhere
    with database.tx() as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            hits = conn.execute(
                f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE %s', (f"%{BODY_MARKER}%",)
            ).fetchone()[0]
            assert hits == 0, table
    assert _count(database, "interactions", user_id) > 1000


def test_as_of_never_looks_at_later_data(database, world, imported):
    user_id, _, _ = imported
    as_of = world.as_of - timedelta(days=120)
    with database.tx() as conn:
        before = compute_ties(conn, user_id, as_of)
    # When everything after as_of is deleted, the ties as of that moment are the same
    with database.tx() as conn:
        conn.execute("DELETE FROM interactions WHERE user_id = %s AND occurred_at >= %s", (user_id, as_of))
    with database.tx() as conn:
        after = compute_ties(conn, user_id, as_of)
    strip = lambda ties: sorted((t["contact"], t["strength"], t["reciprocity"], tuple(t["flags"])) for t in ties)  # noqa: E731
    assert strip(before) == strip(after)
    assert all(t["last_interaction"] < as_of.strftime("%Y-%m-%dT%H:%M:%SZ") for t in before if t["last_interaction"])
