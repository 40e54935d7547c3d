"""Fuzzing every mail surface with hostile headers, all the way into PostgreSQL (issue 13).

Control characters, lone surrogates, overlong fields, broken encoded words, invalid UTF-8
and impossible dates go through the mbox import, the Gmail connector (Google emulator)
and the Graph connector (Microsoft emulator), each through the real sync engine and store.
Every example checks that the sync reaches its end, that every message was stored or
quarantined with a reason (exactly one of the two), and that time and memory per item
stay bounded. Each surface's tally is printed at the end of the module (run with -s).

    # the short profile (a few seconds per surface) runs with the rest of the tests
    .venv/bin/pytest -q -p no:cacheprovider tests/emulators/test_fuzz_mail.py
    # the long profile, on demand (400 examples per surface, minutes)
    KITH_FUZZ_PROFILE=long .venv/bin/pytest -q -s -p no:cacheprovider tests/emulators/test_fuzz_mail.py
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from pydantic import SecretStr

from ingest.google import SCOPES
from ingest.google.gmail import parse_message as parse_gmail
from ingest.mbox import MboxConnector, RawMessage, message_item
from ingest.microsoft import GraphClient, LocalThrottle, MicrosoftConnector
from ingest.microsoft.mail import parse_message as parse_graph
from ingest.sandbox.google import start_google_emulator
from ingest.sandbox.microsoft import start_microsoft_emulator
from ingest.sync import run_sync
from service.providers.credentials import save_credentials
from service.providers.google import build_connector
from service.store import create_user, ensure_account
from service.sync_store import AccountSyncStore

from tests.support.fuzz_mail import PROFILE, Tally, gmail_headers, graph_fields, mailboxes, mbox_bytes, measure, msgid
from tests.support.oauth import google_settings

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
# Bounds per item, generous for a loaded 2-core box; a quadratic parser blows far past them.
SECONDS_PER_ITEM = 0.25
SECONDS_PER_SYNC = 2.0  # OAuth, connection set-up and the first page: not per item
PARSE_BYTES_PER_INPUT_BYTE = 32  # plus 1 MiB: a parser's peak memory grows with its input, no faster
TALLIES = {"mbox": Tally(), "gmail": Tally(), "graph": Tally()}
_accounts = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    for surface, tally in TALLIES.items():
        if tally.tried:
            print("\n" + tally.line(surface))


def outcome(database, account_id) -> tuple[set[str], dict[str, str]]:
    with database.tx() as conn:
        stored = {
            r[0] for r in conn.execute("SELECT provider_id FROM interactions WHERE account_id = %s", (account_id,))
        }
        quarantined = dict(
            conn.execute("SELECT ref, reason FROM quarantine WHERE account_id = %s", (account_id,)).fetchall()
        )
        state = conn.execute(
            "SELECT array_agg(DISTINCT state) FROM sync_state WHERE account_id = %s", (account_id,)
        ).fetchone()[0]
    assert state == ["incremental"], state  # the sync reached its end
    assert all(reason.strip() for reason in quarantined.values())
    return stored, quarantined


def check(tally: Tally, n: int, stored: set[str], quarantined: dict, stored_key, quarantine_key, seconds: float):
    """Each of the n messages is stored or quarantined, never both, never neither."""
    for i in range(n):
        here, set_aside = stored_key(i) in stored, quarantine_key(i) in quarantined
        assert here != set_aside, f"message {i}: stored={here} quarantined={set_aside}"
    assert len(stored) + len(quarantined) == n
    tally.tried += n
    tally.stored += len(stored)
    tally.quarantined += len(quarantined)
    tally.reasons.update(reason.split(":", 1)[0][:40] for reason in quarantined.values())
    tally.worst_s_per_item = max(tally.worst_s_per_item, seconds / n)
    assert seconds < SECONDS_PER_SYNC + SECONDS_PER_ITEM * n


def timed_sync(tally: Tally, database, account_id: int, connector, resources=None) -> float:
    """Seconds the sync took; a sync that raises is a failed page and fails the example."""
    started = time.perf_counter()
    try:
        run_sync(AccountSyncStore(database, account_id), connector, resources=resources)
    except Exception:
        tally.failed_pages += 1
        raise
    finally:
        connector.close()
    return time.perf_counter() - started


def bounded_parse(tally: Tally, size: int, parse, *args) -> None:
    seconds, peak = measure(parse, *args)
    tally.worst_parse_bytes = max(tally.worst_parse_bytes, peak)
    assert seconds < 1.0 and peak < (1 << 20) + PARSE_BYTES_PER_INPUT_BYTE * size, (seconds, peak, size)


@settings(PROFILE)
@given(messages=mailboxes)
def test_hostile_mbox_archives_are_stored_or_quarantined_to_the_end(tmp_path, database, messages):
    # Given an archive of hostile messages, written as raw bytes (invalid UTF-8 included)
    data, offsets = mbox_bytes(messages)
    k = next(_accounts)
    path = tmp_path / f"fuzz{k}.mbox"
    path.write_bytes(data)
    with database.tx() as conn:
        user = create_user(conn, f"u{k}@fuzz.test")
        account_id = ensure_account(conn, user, "mbox", f"u{k}@fuzz.test")
    tally = TALLIES["mbox"]
    for i, offset in enumerate(offsets):
        end = offsets[i + 1] if i + 1 < len(offsets) else len(data)
        block = data[offset:end].split(b"\n", 1)[1].split(b"\n\n", 1)[0] + b"\n"
        bounded_parse(tally, len(block), message_item, RawMessage(offset, end, block), "mbox", NOW)
    # When it is imported in pages of two
    seconds = timed_sync(tally, database, account_id, MboxConnector(path, page_size=2, now=NOW))
    # Then the import ended and each message is stored (by its id) or quarantined (by offset)
    stored, quarantined = outcome(database, account_id)
    prefixes = {s.split(".", 1)[0] for s in stored}
    assert len(prefixes) == len(stored)
    check(tally, len(messages), prefixes, quarantined, str, lambda i: str(offsets[i]), seconds)


@pytest.fixture(scope="module")
def google_emulator():
    emulator = start_google_emulator(None, quota_scale=50.0)
    yield emulator
    emulator.stop()


@settings(PROFILE)
@given(messages=mailboxes)
def test_hostile_gmail_mailboxes_are_stored_or_quarantined_to_the_end(
    settings, quota_redis, database, google_emulator, messages
):
    # Given a Gmail mailbox of hostile messages on the emulator (JSON carries NUL and lone surrogates)
    emu, k = google_emulator, next(_accounts)
    address = f"u{k}@fuzz.test"
    emu.add_account(address, "Fuzz")
    tally = TALLIES["gmail"]
    for n, m in enumerate(messages):
        emu.add_message(
            user=address,
            id=f"g{k}x{n:03d}",
            headers=gmail_headers(n, m),
            labels=["INBOX"] + m.labels,
            internal_ms=m.internal_ms if isinstance(m.internal_ms, int) else 1_762_077_600_000,
        )
        headers = gmail_headers(n, m)
        bounded_parse(
            tally,
            sum(len(v) for _, v in headers) * 4,
            parse_gmail,
            {
                "id": f"g{n}",
                "internalDate": m.internal_ms,
                "labelIds": m.labels,
                "payload": {"headers": [{"name": a, "value": b} for a, b in headers]},
            },
        )
    gsettings = google_settings(settings, emu, quota_scale=50.0, redis_url=quota_redis)
    with database.tx() as conn:
        user = create_user(conn, address)
        account_id = ensure_account(conn, user, "google", address, scopes=list(SCOPES))
        save_credentials(
            conn, gsettings, account_id, {"refresh_token": emu.issue_refresh_token(address), "scopes": list(SCOPES)}
        )
    # When the account syncs its mail
    seconds = timed_sync(
        tally, database, account_id, build_connector(gsettings, database, account_id, list_page=2), ["gmail"]
    )
    # Then each message is stored or quarantined under its Gmail id
    stored, quarantined = outcome(database, account_id)
    check(tally, len(messages), stored, quarantined, lambda i: f"g{k}x{i:03d}", lambda i: f"g{k}x{i:03d}", seconds)


@pytest.fixture(scope="module")
def graph_emulator():
    emulator = start_microsoft_emulator()
    yield emulator
    emulator.stop()


@settings(PROFILE)
@given(messages=mailboxes)
def test_hostile_graph_mailboxes_are_stored_or_quarantined_to_the_end(database, graph_emulator, messages):
    # Given a Graph mailbox of hostile messages: names, addresses, ids and impossible times
    emu, k = graph_emulator, next(_accounts)
    upn = f"u{k}@fuzz.test"
    mailbox = emu.add_mailbox(upn, "Fuzz")
    tally = TALLIES["graph"]
    ids = []
    for n, m in enumerate(messages):
        item_id = emu.add_message(
            upn=upn,
            item_id=f"AAMk{k}x{n:03d}",
            sender=(m.from_name, m.from_address),
            to=m.to or [("Me", upn)],
            message_id=msgid(n, m),
        )
        entry = mailbox.entries[item_id]
        body = dict(entry.body, **graph_fields(n, m))
        mailbox.put(item_id, entry.collection, body)
        ids.append(item_id)
        bounded_parse(tally, len(repr(body)), parse_graph, body, "mail:inbox")
    with database.tx() as conn:
        user = create_user(conn, upn)
        account_id = ensure_account(conn, user, "microsoft", upn)
    # When the inbox syncs in pages of two
    token = emu.access_token_for(upn)
    client = GraphClient(
        emu.graph_base, lambda force_refresh=False: token, ca_bundle=emu.ca_file, throttle=LocalThrottle()
    )
    connector = MicrosoftConnector(client, folders=("inbox",), page_size=2, now=lambda: NOW, calendar=False)
    seconds = timed_sync(tally, database, account_id, connector)
    # Then each message is stored or quarantined under its Graph id
    stored, quarantined = outcome(database, account_id)
    check(tally, len(messages), stored, quarantined, ids.__getitem__, ids.__getitem__, seconds)
