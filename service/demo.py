"""`kith demo`: the whole pipeline on the embedded defaults, end to end.

A demo user, a synthetic year (two, so dormant ties show) of mail and meetings from the
world generator, imported through the same importers and actors that real data goes
through, with a dramatiq worker running in this process; then scoring, the ties to deepen
as a table, and how to open the API.
"""
from __future__ import annotations

import time

import dramatiq

from . import output
from .auth import create_token
from .broker import setup_broker
from .store import add_own_addresses, create_user
from .ties import list_ties, score_user, ties_to_deepen

QUEUE_TIMEOUT_MS = 15 * 60 * 1000


def _wait(broker, queues) -> None:
    for queue in queues:
        broker.join(queue, timeout=QUEUE_TIMEOUT_MS)


def run_demo(rt, out, err, *, seed: int = 7, port: int = 8000) -> None:
    from ingest.sandbox.world import generate_world

    from . import context

    settings, db = rt.settings, rt.db
    started = time.monotonic()
    err.print(f"[bold]Kith demo[/] — data under {settings.home_dir()}")
    world = generate_world(seed)
    demo_dir = settings.home_dir() / "demo"
    demo_dir.mkdir(exist_ok=True)
    mbox_path, ics_path = demo_dir / "takeout.mbox", demo_dir / "calendar.ics"
    world.write_mbox(mbox_path)
    world.write_ics(ics_path)
    err.print(f"synthetic world: {len(world.messages)} messages, {len(world.events)} events, "
              f"{len(world.truth)} correspondents")

    with db.tx() as conn:
        user_id = create_user(conn, world.user_email, name=world.user_name, timezone=world.timezone)
        add_own_addresses(conn, user_id, world.own_addresses, "given")
        token = create_token(conn, user_id, name="demo")

    context.install(settings, db)
    broker = setup_broker(settings.redis_url)
    from . import workers

    worker = dramatiq.Worker(broker, worker_threads=2)
    worker.start()
    try:
        workers.import_file.send(user_id, "mbox", str(mbox_path), list(world.own_addresses))
        workers.import_file.send(user_id, "ics", str(ics_path), None)
        with err.status("importing through the workers..."):
            _wait(broker, ["interactive", "scoring"])
            worker.join()
    finally:
        worker.stop()

    ties = score_user(db, user_id)
    with db.tx() as conn:
        counts = conn.execute("SELECT (SELECT count(*) FROM interactions WHERE user_id = %s), "
                              "(SELECT count(*) FROM quarantine WHERE user_id = %s)",
                              (user_id, user_id)).fetchone()
        ties = list_ties(conn, user_id)
    err.print(f"imported {counts[0]} interactions ({counts[1]} quarantined), scored {len(ties)} ties "
              f"in {time.monotonic() - started:.1f}s")
    output.ties_table(out, ties[:15], title=f"Strongest ties of {world.user_email}")
    output.deepen_table(out, ties_to_deepen(ties))
    out.print(
        f"\nAPI token for {world.user_email}: [bold]{token}[/]\n"
        f"Open the API and dashboard:  kith serve --port {port}\n"
        f"  curl -H 'Authorization: Bearer {token}' http://127.0.0.1:{port}/v1/ties\n"
        f"  or http://127.0.0.1:{port}/ in a browser (sign in with the token)\n"
        f"More: kith ties --user {world.user_email} --json | kith ties --user {world.user_email} --excluded")
