"""Many `kith` processes over one database and one Redis: what tests/workers/test_scale.py,
tests/workers/test_queues.py and tests/bench/bench_scale.py share.

- `install_audit`: triggers in the test database that record every committed write of an
  interaction and every committed page cursor, with the worker process (application_name)
  and the holder of the account's sync lock at that moment;
- `Processes`: `kith worker` / `kith serve` subprocesses, each in its own process group
  and with its own application_name, pointed at the test's database, Redis and emulators.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections import defaultdict
from pathlib import Path

from tests.support.scale_world import (
    RecordingQuota,
    add_user,
    connect_google,
    connect_microsoft,
    google_expected,
    microsoft_expected,
    seed_google,
    seed_microsoft,
    start_google,
)

ROOT = Path(__file__).resolve().parents[2]
KITH = ROOT / ".venv" / "bin" / "kith"


def stored(db) -> dict[int, dict[str, set[str]]]:
    out: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with db.tx() as conn:
        for account_id, resource, provider_id in conn.execute(
            "SELECT account_id, resource, provider_id FROM interactions"
        ):
            out[account_id][resource].add(provider_id)
    return out


def rows_per_account(db) -> dict[int, int]:
    with db.tx() as conn:
        return dict(conn.execute("SELECT account_id, count(*) FROM interactions GROUP BY account_id").fetchall())


# pg_locks lists the whole server's locks, and an advisory lock is keyed by its database too:
# account 1 of another test's database (a second test running beside this one) takes a lock
# with the same (LOCK_SPACE, 1) key. Without this condition a page committed here could be
# matched with that other holder (a test process, application_name '') and reported unlocked.
THIS_DATABASE = "l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"


def locks_held(db) -> dict[int, str]:
    """Accounts whose sync lock is held now in this database -> application_name of the holder."""
    from service.sync import LOCK_SPACE

    with db.tx() as conn:
        return dict(
            conn.execute(
                "SELECT l.objid::int, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objsubid = 2 AND l.granted "
                f"AND {THIS_DATABASE}",
                (LOCK_SPACE,),
            ).fetchall()
        )


# --- audit of committed writes ----------------------------------------------------------------------

AUDIT = """
CREATE TABLE scale_write_audit (account_id bigint, provider_id text, op text, app text);
CREATE TABLE scale_page_audit (account_id bigint, resource text, app text, holder_app text,
                               holder_pid int, holder_since timestamptz,
                               at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION scale_audit_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO scale_write_audit VALUES (NEW.account_id, NEW.provider_id, TG_OP,
                                        current_setting('application_name'));
  RETURN NULL;
END $$;
CREATE FUNCTION scale_audit_page() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE holder record;
BEGIN
  -- Who holds this account's sync lock (service.sync.account_lock) while the page commits, and
  -- since when: the lock's connection stays idle after taking it, so its query_start is the
  -- moment the run began (pid alone is not a run: a pool hands the connection out again).
  -- Only this database's locks: another database's account with the same id has the same key.
  SELECT l.pid, a.application_name, a.query_start INTO holder FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
   WHERE l.locktype = 'advisory' AND l.classid = %(space)s AND l.objid = NEW.account_id
     AND l.objsubid = 2 AND l.granted AND %(this_database)s;
  INSERT INTO scale_page_audit (account_id, resource, app, holder_app, holder_pid, holder_since)
  VALUES (NEW.account_id, NEW.resource, current_setting('application_name'), holder.application_name,
          holder.pid, holder.query_start);
  RETURN NULL;
END $$;
CREATE TRIGGER scale_write_audit AFTER INSERT OR UPDATE ON interactions
  FOR EACH ROW EXECUTE FUNCTION scale_audit_write();
CREATE TRIGGER scale_page_audit AFTER INSERT OR UPDATE OF cursor ON sync_state
  FOR EACH ROW EXECUTE FUNCTION scale_audit_page();
"""


def install_audit(db) -> None:
    """Test-only triggers (the product's schema is unchanged): rolled-back work leaves no trace,
    so what they record is exactly what was committed, and by which process."""
    from service.sync import LOCK_SPACE

    with db.tx() as conn:
        conn.execute(AUDIT.replace("%(space)s", str(LOCK_SPACE)).replace("%(this_database)s", THIS_DATABASE))


def audit(db) -> dict:
    with db.tx() as conn:
        writes = conn.execute(
            "SELECT account_id, provider_id, count(*) FROM scale_write_audit "
            "GROUP BY account_id, provider_id HAVING count(*) > 1"
        ).fetchall()
        pages = conn.execute(
            "SELECT account_id, resource, app, holder_app, holder_pid, holder_since FROM scale_page_audit ORDER BY at"
        ).fetchall()
    runs: dict[int, list[tuple]] = defaultdict(list)  # account -> sync runs in commit order
    for account_id, _, _, _, pid, since in pages:
        if not runs[account_id] or runs[account_id][-1] != (pid, since):
            runs[account_id].append((pid, since))
    spans: dict[int, list] = {}
    with db.tx() as conn:
        for account_id, first, last in conn.execute(
            "SELECT account_id, min(at), max(at) FROM scale_page_audit GROUP BY account_id"
        ):
            spans[account_id] = [first, last]
        run_spans = conn.execute(
            "SELECT account_id, app, min(holder_since), max(at) FROM scale_page_audit WHERE holder_pid IS NOT NULL "
            "GROUP BY account_id, app, holder_pid, holder_since"
        ).fetchall()
    return {
        "spans": spans,  # account -> first and last page commit
        # (account, process, when it took the account's sync lock, its last page commit) of each
        # sync run: a Gmail run's first commit comes only when its first 500 ids are fetched
        "runs": run_spans,
        "rewritten": writes,
        "pages": len(pages),
        # A page committed by a process that does not hold the account's sync lock.
        "unlocked": [p for p in pages if p[4] is None or p[2] != p[3]],
        # Commits of one sync run interleaved with another's (A, B, A): two at once.
        "interleaved": {a: h for a, h in runs.items() if len(h) != len(set(h))},
        "apps": sorted({p[2] for p in pages}),
    }


# --- processes ------------------------------------------------------------------------------------

ENV_FIELDS = (
    "google_auth_uri",
    "google_token_uri",
    "google_api_base",
    "google_client_id",
    "google_client_secret",
    "google_quota_scale",
    "ms_client_id",
    "ms_client_secret",
    "ms_authority",
    "graph_base",
    "ca_bundle",
    "secret_key",
    "home",
)


def process_env(settings, app: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env.update(extra or {})
    # The application_name names the process in pg_stat_activity and in the audit tables.
    env["KITH_DATABASE_URL"] = f"{settings.database_url} application_name={app}"
    env["KITH_REDIS_URL"] = settings.redis_url
    for name in ENV_FIELDS:
        value = getattr(settings, name, None)
        if value is None:
            continue
        value = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        env[f"KITH_{name.upper()}"] = str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    """`kith` subprocesses, each the leader of its own process group (a `kith worker` is a
    dramatiq parent plus its worker children: killing "a worker" kills the whole group)."""

    def __init__(self, settings, logs: Path, env: dict[str, str] | None = None):
        self.settings = settings
        self.env = env or {}
        self.logs = logs
        self.logs.mkdir(parents=True, exist_ok=True)
        self.running: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [str(KITH), *args],
            env=process_env(self.settings, name, self.env),
            cwd=str(ROOT),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.running[name] = proc
        return proc

    def worker(self, name: str, queues=("interactive", "sync"), threads: int = 3) -> subprocess.Popen:
        args = ["worker", "--processes", "1", "--threads", str(threads)]
        for queue in queues:
            args += ["--queue", queue]
        return self._start(name, args)

    def api(self, name: str, timeout: float = 60.0) -> str:
        import httpx

        port = free_port()
        proc = self._start(name, ["serve", "--host", "127.0.0.1", "--port", str(port)])
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {self.tail(name)}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{name} did not answer /healthz: {self.tail(name)}")

    def kill(self, name: str) -> None:
        """SIGKILL the whole group at once: nothing gets to clean up, as when a host dies."""
        proc = self.running.pop(name)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in list(self.running.values()):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 15
        for _name, proc in list(self.running.items()):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        self.running.clear()

    def alive(self, name: str) -> bool:
        return self.running[name].poll() is None

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def most_at_once(spans) -> int:
    """The most (start, end) spans that overlap at one instant."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda e: (e[0], -e[1]))
    best = now = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


def processes_at_once(runs) -> int:
    """The most distinct processes with a sync run under way at one instant."""
    best = 0
    for _, _, start, _ in runs:
        best = max(best, len({app for _, app, s, e in runs if s <= start <= e}))
    return best


def fresh_database(server: str, prefix: str) -> tuple[str, str]:
    """A new, migrated database on `server` for a benchmark: (name, url)."""
    import uuid

    import psycopg
    from psycopg import sql

    from service import db as kdb

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(server)
    info["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**info)
    kdb.migrate(url)
    return name, url


def wait_until(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


__all__ = [
    "seed_google",
    "seed_microsoft",
    "google_expected",
    "microsoft_expected",
    "RecordingQuota",
    "start_google",
    "add_user",
    "connect_google",
    "connect_microsoft",
    "stored",
    "rows_per_account",
    "locks_held",
    "install_audit",
    "audit",
    "most_at_once",
    "processes_at_once",
    "Processes",
    "process_env",
    "wait_until",
    "fresh_database",
    "free_port",
    "KITH",
    "ROOT",
]
