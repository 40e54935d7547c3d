"""Importing Kith builds nothing: no dramatiq broker, no Redis connection.

The broker is made at an entry point (`service.jobs`); a module that built one on import
would bind actors to whatever the environment said at that moment and hide an import cycle.
Checked in a fresh interpreter, so modules other tests imported cannot mask it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import importlib, json, pkgutil, sys
import redis.connection

connects = []
real_connect = redis.connection.AbstractConnection.connect
def recording_connect(self, *args, **kwargs):
    connects.append(repr(self))
    return real_connect(self, *args, **kwargs)
redis.connection.AbstractConnection.connect = recording_connect

import dramatiq.broker
import service

imported, failed = [], {}
for info in pkgutil.walk_packages(service.__path__, "service."):
    # Alembic's env.py runs migrations when imported; it is alembic's script, not a module.
    if info.name == "service.migrations.env":
        continue
    try:
        importlib.import_module(info.name)
        imported.append(info.name)
    except Exception as exc:
        failed[info.name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"imported": imported, "failed": failed, "connects": connects,
                  "global_broker": repr(dramatiq.broker.global_broker)}))
"""


def test_importing_every_service_module_builds_no_broker_and_opens_no_redis_connection(tmp_path):
    # Given a fresh interpreter whose Redis URL points nowhere useful
    env = {
        "PATH": "/usr/bin:/bin",
        "KITH_HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "KITH_REDIS_URL": "redis://127.0.0.1:1/0",
    }
    # When it imports every module under service/
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # Then every module imported, dramatiq has no global broker and Redis was never dialled
    assert report["failed"] == {}
    assert {
        "service.jobs",
        "service.jobs.actors",
        "service.jobs.worker",
        "service.jobs.scheduler",
        "service.api.app",
        "service.demo",
        "service.cli",
        "service.digest.schedule",
    } <= set(report["imported"])
    assert report["global_broker"] == "None"
    assert report["connects"] == []


def test_the_worker_entry_binds_every_actor_to_the_broker_it_makes(tmp_path):
    # Given the environment a `kith worker` child process gets
    env = {
        "PATH": "/usr/bin:/bin",
        "KITH_HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "KITH_REDIS_URL": "redis://127.0.0.1:1/0",
        "KITH_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
    }
    probe = (
        "import dramatiq, json\nfrom service.jobs import worker\nworker.setup()\n"
        "b = dramatiq.get_broker()\n"
        "print(json.dumps({n: b.get_actor(n).queue_name for n in sorted(b.actors)}))"
    )
    # When dramatiq's CLI calls its setup (no Redis or Postgres needed to bind actors)
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    # Then the actors queued messages are routed to exist under their names, on their queues
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "import_file": "interactive",
        "score_user": "scoring",
        "send_weekly_digest": "email",
        "sync_account": "sync",
        "sync_account_now": "interactive",
        "sync_all": "sync",
    }
