"""One person across providers: someone who writes to the user's Gmail (seen in the Takeout
mbox) and appears in Outlook, even under a legacy Exchange DN, is one person in Kith."""

from __future__ import annotations

from collections import defaultdict

from ingest.sandbox.microsoft import start_microsoft_emulator
from ingest.sandbox.world import generate_world, write_mbox
from ingest.sync import run_sync
from service.providers import microsoft
from service.imports import import_file
from service.people import refresh_people
from service.store import create_user
from service.sync_store import AccountSyncStore


def in_both_worlds(world) -> set[str]:
    def people(account):
        return {
            p.address
            for m in world.messages_for(account)
            for _, a in (m.sender,) + m.recipients
            if (p := world.person(a)) is not None and p.kind in ("contact", "colleague")
        }

    return people("google") & people("microsoft")


def test_a_contact_in_gmail_and_outlook_is_one_person(settings, database, tmp_path):
    world = generate_world(7)
    emulator = start_microsoft_emulator(world)
    try:
        ms = microsoft.with_emulator(settings, emulator)
        with database.tx() as conn:
            user_id = create_user(conn, world.user_email)
        # Given the user's Gmail (a Takeout mbox) and their Outlook (synced through Graph)
        mbox = tmp_path / "takeout.mbox"
        write_mbox(world, mbox)
        import_file(database, user_id, "mbox", mbox, addresses=[world.user_email, *world.user_aliases])
        account_id = microsoft.connect_headless(ms, database, user_id)
        run_sync(AccountSyncStore(database, account_id), microsoft.build_connector(ms, database, account_id))
        # When people are refreshed
        with database.tx() as conn:
            refresh_people(conn, user_id)
            rows = conn.execute(
                "SELECT DISTINCT a.provider, p.address, pa.person_id FROM participants p "
                "JOIN interactions i ON i.id = p.interaction_id JOIN accounts a ON a.id = i.account_id "
                "JOIN person_addresses pa ON pa.user_id = p.user_id AND pa.address = p.address "
                "WHERE p.user_id = %s",
                (user_id,),
            ).fetchall()
    finally:
        emulator.stop()
    person_of = defaultdict(set)  # (world person, provider) -> Kith person ids
    for provider, address, person_id in rows:
        someone = world.person(address)
        if someone is not None and someone.kind in ("contact", "colleague"):
            person_of[(someone.address, provider)].add(person_id)
    both = {who for who, provider in person_of if (who, "mbox") in person_of and (who, "microsoft") in person_of}
    # Then everyone the world has writing through both providers is seen in both, and is one
    # Kith person, also when Outlook named them by an Exchange DN
    assert both == in_both_worlds(world) and both
    for who in both:
        assert len(person_of[(who, "mbox")] | person_of[(who, "microsoft")]) == 1, who
    dn_people = {
        world.person(a).address
        for p, a, _ in rows
        if p == "microsoft" and a.lower().startswith("/o=") and world.person(a) is not None
    }
    assert dn_people & both
