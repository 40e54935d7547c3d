"""The Gmail cursor as a state machine, property-tested: whatever page a sync dies after
and whatever the mailbox does between runs, resuming from the last committed cursor ends
with exactly the mailbox. Runs the real connector against the emulator, with the sync
engine over an in-memory store that keeps the same page/cursor/generation contract."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from google.oauth2.credentials import Credentials

from ingest.google import GoogleConnector, Quota
from ingest.google.connector import GoogleConnector as _Connector
from ingest.records import Interaction, Removed, SyncReport
from ingest.sandbox.google import start_google_emulator
from ingest.sync import ResourceState, run_sync

pytestmark = pytest.mark.slow  # long crash-and-resume histories on the Gmail emulator


class MemoryStore:
    def __init__(self):
        self.rows: dict[tuple[str, str], int] = {}
        self.states: dict[str, ResourceState] = {}

    def load(self, resource):
        return self.states.get(resource, ResourceState(None, "initial", 0))

    def commit_page(self, resource, page, state, generation):
        for item in page.items:
            if isinstance(item, Interaction):
                self.rows[(resource, item.provider_id)] = generation
            elif isinstance(item, Removed):
                self.rows.pop((resource, item.provider_id), None)
        if page.complete and page.full_sync:
            self.rows = {k: g for k, g in self.rows.items() if k[0] != resource or g >= generation}
        self.states[resource] = ResourceState(page.cursor, state, generation)
        return SyncReport(resource=resource, pages=1, full_sync=page.full_sync)

    def reset(self, resource, state):
        current = self.load(resource)
        self.states[resource] = ResourceState(None, state, current.generation)

    def set_account_state(self, state, error=None):
        pass

    def ids(self, resource="gmail"):
        return {pid for (res, pid) in self.rows if res == resource}


class Crash(Exception):
    pass


def seed(emu, n, threads):
    for i in range(n):
        emu.add_message(
            id=f"m{i:04d}",
            thread_id=f"t{i % threads:03d}",
            internal_ms=1_700_000_000_000 + i * 1000,
            headers=[("From", f"p{i % 7}@example.org"), ("To", "you@kith.example")],
            record=False,
        )


mutation = st.tuples(st.sampled_from(["add", "delete", "label", "expire"]), st.integers(0, 10_000))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kills=st.lists(st.integers(1, 12), min_size=1, max_size=4),
    between=st.lists(st.lists(mutation, max_size=6), min_size=4, max_size=4),
    threads=st.integers(5, 60),
)
def test_any_crash_points_and_changes_end_with_exactly_the_mailbox(kills, between, threads):
    emu = start_google_emulator(accounts=["you@kith.example"], enforce_quota=False)  # quota: other tests
    try:
        seed(emu, 120, threads)
        token = emu.issue_refresh_token()
        store, counter = MemoryStore(), [0]

        creds = Credentials(None, refresh_token=token, token_uri=f"{emu.url}/token", client_id="c", client_secret="s")
        # One connector for all runs: a crash abandons its page generator mid-way, and the
        # next run starts from nothing but the store's cursor, as a new process would.
        shared = GoogleConnector(
            creds,
            api_base=emu.url,
            calendars=(),
            list_page=17,
            batch_calls=4,
            quota=Quota(units_per_second=1e6, max_concurrent=2),
        )

        def connector():
            return shared

        for round_, kill_after in enumerate(kills):
            pages = [0]

            def progress(resource, total, page, kill_after=kill_after, pages=pages):
                pages[0] += 1
                if pages[0] >= kill_after:
                    raise Crash()

            con = connector()
            try:
                run_sync(store, con, progress=progress)
            except Crash:
                pass
            for kind, n in between[round_ % len(between)]:
                ids = sorted(emu.message_ids())
                counter[0] += 1
                if kind == "add":
                    emu.add_message(
                        id=f"n{counter[0]:04d}", thread_id=f"t{n % threads:03d}", headers=[("From", "new@example.org")]
                    )
                elif kind == "delete" and ids:
                    emu.delete_message(ids[n % len(ids)])
                elif kind == "label" and ids:
                    emu.modify_labels(ids[n % len(ids)], add=["STARRED"])
                elif kind == "expire":
                    emu.expire_history()
        for _ in range(2):  # a full resync may end before changes that came in meanwhile
            run_sync(store, connector())
        shared.close()
        assert store.ids() == emu.message_ids()
    finally:
        emu.stop()


@given(
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 40)), max_size=200, unique_by=lambda t: t[0]),
    st.integers(2, 3),
    st.integers(1, 50),
    st.integers(10, 500),
)
def test_plan_and_batches_cover_each_listed_id_once_within_limits(listed, threads_from, calls, units):
    """Given a listing, every id is fetched by exactly one unit, units keep list order,
    and no batch exceeds its call or unit budget (unless one unit alone does)."""
    listing = [(f"m{m}", f"t{t}") for m, t in listed]
    con = _Connector.__new__(_Connector)
    con.batch_calls, con.batch_units = calls, units
    plan = con._plan(listing, threads_from)
    covered = [i for _, _, ids in plan for i in ids]
    assert sorted(covered) == sorted(m for m, _ in listing)
    firsts = [[m for m, _ in listing].index(ids[0]) for _, _, ids in plan]
    assert firsts == sorted(firsts)
    for batch in con._batches(plan):
        cost = sum(10 if kind == "thread" else 5 for kind, _, _ in batch)
        assert len(batch) <= calls and (cost <= units or len(batch) == 1)
