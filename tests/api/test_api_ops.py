"""Operations of the served API: structured logs and a graceful stop on SIGTERM, in a real
uvicorn process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import psycopg

from tests.support.api import auth_header, seed_user

SERVER = """
import sys, uvicorn
from service.api.app import create_app
from service.api.logs import LOG_CONFIG
from service.config import Settings
settings = Settings(database_url=sys.argv[1], redis_url=sys.argv[2], home=sys.argv[3])
uvicorn.run(create_app(settings), host="127.0.0.1", port=int(sys.argv[4]), log_config=LOG_CONFIG,
            access_log=False, timeout_graceful_shutdown=10)
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _backends(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        dbname = conn.info.dbname
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,)
        ).fetchone()[0]


def test_served_api_logs_json_lines_and_stops_cleanly_on_sigterm(settings, database, tmp_path):
    """Given `uvicorn` serving the app, when requests come and SIGTERM follows, then every log
    line is a JSON object (requests included, the token nowhere), the process ends after the
    lifespan shut down, and its database connections are gone."""
    ana = seed_user(database, "ana@north.example")
    baseline = _backends(settings.database_url)  # this test's own pool
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, settings.database_url, settings.redis_url, str(tmp_path / "home"), str(port)],
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
            time.sleep(0.1)
        assert httpx.get(base + "/v1/ties", headers=auth_header(ana.token)).status_code == 200
        assert httpx.get(base + "/v1/me", headers=auth_header(ana.token + "x")).status_code == 401
        assert _backends(settings.database_url) > baseline  # the app's pools
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    logs = proc.stderr.read()
    # uvicorn finishes its shutdown, then re-raises the signal it caught (exit status -15).
    assert code in (0, -signal.SIGTERM), logs
    entries = [json.loads(line) for line in logs.splitlines() if line.strip()]
    messages = [e["message"] for e in entries]
    assert messages.index("Application shutdown complete.") > messages.index("Shutting down")
    requests = [e for e in entries if e["logger"] == "kith.access"]
    assert {(e["route"], e["status"]) for e in requests} >= {("/v1/ties", 200), ("/v1/me", 401)}
    assert ana.token not in logs
    assert _backends(settings.database_url) == baseline


def test_each_lifespan_closes_the_pools_it_opened(settings):
    """Given two clients on one app (each runs the app's lifespan, the second replacing the
    first's pools in app.state), when both end, then every pool either opened is closed: the
    first's was left to the garbage collector, whose join from the pool's own thread failed
    and held a test for 5 s each time."""
    from fastapi.testclient import TestClient

    from service.api.app import create_app

    app = create_app(settings)
    with TestClient(app) as first:
        assert first.get("/healthz").status_code == 200
        opened = [(app.state.db.pool, app.state.apool)]
        with TestClient(app) as second:
            assert second.get("/healthz").status_code == 200
            opened.append((app.state.db.pool, app.state.apool))
            assert opened[0][0] is not opened[1][0]
    assert all(pool.closed and apool.closed for pool, apool in opened)
