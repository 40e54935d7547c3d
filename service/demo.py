"""`kith demo`: the whole pipeline on the embedded defaults, end to end.

A demo user and a synthetic two years of mail and meetings from the world generator (two,
so that dormant ties show), served by the local Google and Microsoft emulators. The demo
connects both accounts through the real OAuth flows (the emulators consent by themselves
for the demo user), syncs them with the real connectors through the dramatiq actors with a
worker in this process, scores, and prints the ties to deepen and how to open the API.
"""

from __future__ import annotations

import time

import dramatiq

from . import context, output, providers
from .account_state import DISCONNECT, transition
from .auth import create_token
from .jobs import Jobs, make_broker
from .people import add_own_addresses
from .store import create_user
from .ties.scoring import score_user
from .ties.snapshots import list_ties, ties_to_deepen

QUEUE_TIMEOUT_MS = 20 * 60 * 1000
DEMO_QUEUES = ("interactive", "scoring")


def run_demo(rt, out, err, *, seed: int = 7, port: int = 8000) -> None:
    from ingest.sandbox.world import generate_world

    settings, db = rt.settings, rt.db
    started = time.monotonic()
    err.print(f"[bold]Kith demo[/] — data under {settings.home_dir()}")
    world = generate_world(seed)
    err.print(
        f"synthetic world: {len(world.messages)} messages, {len(world.events)} events, "
        f"{sum(t.is_relationship for t in world.truth.values())} real relationships among "
        f"{len(world.truth)} correspondents"
    )

    with db.tx() as conn:
        user_id = create_user(conn, world.user_email, name=world.user_name, timezone=world.timezone)
        add_own_addresses(conn, user_id, [world.user_email], "given")
        token = create_token(conn, user_id, name="demo")

    emulators = []
    accounts: list[int] = []
    routed = settings
    try:
        # Each provider's emulator routes that provider's endpoints; the settings pass from one
        # provider to the next, so the workers below reach every emulator.
        for provider in providers.REGISTRY.values():
            emulator, routed, account_id = provider.connect_demo(routed, db, user_id, world)
            emulators.append(emulator)
            accounts.append(account_id)
            err.print(
                f"connected {provider.label} account {world.account_address(provider.name)} "
                f"(emulator at {provider.emulator_url(emulator)})"
            )

        context.install(routed, db)
        broker = make_broker(settings.redis_url)
        jobs = Jobs(broker)

        # Only the queues the demo waits for: a delayed retry on `sync` or `email` (queued by a
        # scheduler or an earlier run sharing KITH_HOME) would otherwise hold worker.join().
        # A message for an account deleted since ends at once (see jobs.actors).
        worker = dramatiq.Worker(broker, queues=set(DEMO_QUEUES), worker_threads=2)
        worker.start()
        try:
            for account_id in accounts:
                jobs.sync_account_now.send(account_id)
            with err.status("syncing both accounts through the connectors and workers..."):
                for queue in DEMO_QUEUES:
                    broker.join(queue, timeout=QUEUE_TIMEOUT_MS)
                worker.join()
        finally:
            worker.stop()
    finally:
        for emulator in emulators:
            emulator.stop()
        # The emulators are gone with this process: later `kith sync` runs must not try them.
        with db.tx() as conn:
            for account_id in accounts:
                transition(conn, account_id, *DISCONNECT, error="demo account: its emulator has stopped")

    score_user(db, user_id)
    with db.tx() as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM interactions WHERE user_id = %s), "
            "(SELECT count(*) FROM quarantine WHERE user_id = %s), "
            "(SELECT count(*) FROM accounts WHERE user_id = %s AND last_error IS NOT NULL "
            " AND status <> 'disabled')",
            (user_id, user_id, user_id),
        ).fetchone()
        ties = list_ties(conn, user_id)
    err.print(
        f"synced {counts[0]} interactions ({counts[1]} quarantined), scored {len(ties)} ties "
        f"in {time.monotonic() - started:.1f}s"
    )
    output.ties_table(out, ties[:15], title=f"Strongest ties of {world.user_email}")
    output.deepen_table(out, ties_to_deepen(ties))
    next_steps(out, world.user_email, token, port)


def next_steps(console, email: str, token: str, port: int) -> None:
    """What to run next. Each command is one line however narrow the terminal: a command
    broken across lines does not paste (soft wrap leaves the folding to the terminal)."""
    lines = [
        "",
        f"API token for {email}: [bold]{token}[/]",
        "Open the API and dashboard (the embedded servers run while it does):",
        f"  .venv/bin/kith serve --port {port}",
        "then, in another terminal:",
        f"  curl -H 'Authorization: Bearer {token}' http://127.0.0.1:{port}/v1/ties",
        f"or open http://127.0.0.1:{port}/ in a browser and sign in with the token.",
        "More:",
        f"  .venv/bin/kith ties --user {email} --json",
        f"  .venv/bin/kith ties --user {email} --excluded",
        "Each kith command stops the embedded PostgreSQL and Redis when it ends and nothing else",
        "uses them (this demo too); `kith stop` stops them if a command was killed first.",
    ]
    for line in lines:
        console.print(line, soft_wrap=True)
