"""Reading stored scores is cheap: `kith ties` on a scored user imports neither scikit-learn
nor SciPy nor Alembic (over a second of every command between them), nor the connection pool
(one connection does); `--as-of` at a moment without a snapshot still computes. The
migration check reads the head from the files."""

import json
import os
import subprocess
import sys

from service import db as kdb
from tests.api.test_cli import MBOX
from tests.support.cli import kith_env, run_kith

# Runs `kith ARGS` in this process, then reports which heavy modules it imported.
_PROBE = """
import json, sys
from service.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"sklearn", "scipy", "alembic", "psycopg_pool"})
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def _given(settings, tmp_path, *args):
    """`kith ARGS` for a test's Given steps, in this process (tests/support/cli.py): only the
    commands whose imports are checked need an interpreter of their own."""
    env = kith_env(settings.database_url, settings.redis_url, str(tmp_path / "home"), "cli-test-key")
    result = run_kith(env, *args)
    assert result.returncode == 0, result.stderr


def _probe(settings, tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env.update(
        KITH_DATABASE_URL=settings.database_url,
        KITH_REDIS_URL=settings.redis_url,
        KITH_HOME=str(tmp_path / "home"),
        KITH_SECRET_KEY="cli-test-key",
    )
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, proc.stderr
    return proc.stdout, report["heavy"]


def test_reading_ties_imports_no_model_and_no_alembic(settings, tmp_path):
    # Given a user whose mail was imported (an import ends by scoring: a snapshot is kept)
    path = tmp_path / "mail.mbox"
    path.write_text(MBOX)
    _given(settings, tmp_path, "user", "add", "you@kith.example")
    _, heavy_import = _probe(settings, tmp_path, "import", "mbox", str(path), "--user", "you@kith.example")
    # When `kith ties` reads the snapshot
    stdout, heavy = _probe(settings, tmp_path, "ties", "--user", "you@kith.example", "--json", "--limit", "5")
    # Then it shows the scored tie without importing scikit-learn, SciPy, Alembic or the pool
    assert [t["contact"] for t in json.loads(stdout)] == ["ana@example.org"]
    assert heavy == []
    # And importing (which scores) did use the model and the pool, so the probe can see them
    assert "sklearn" in heavy_import
    assert "psycopg_pool" in heavy_import


def test_ties_as_of_a_moment_without_snapshot_computes(settings, tmp_path):
    # Given a scored user
    path = tmp_path / "mail.mbox"
    path.write_text(MBOX)
    _given(settings, tmp_path, "user", "add", "you@kith.example")
    _given(settings, tmp_path, "import", "mbox", str(path), "--user", "you@kith.example")
    # When ties are asked for as they were at a moment no snapshot was taken
    stdout, heavy = _probe(settings, tmp_path, "ties", "--user", "you@kith.example", "--json", "--as-of", "2026-06-01")
    # Then they are computed (the model is imported) and Ana is there
    assert [t["contact"] for t in json.loads(stdout)] == ["ana@example.org"]
    assert "sklearn" in heavy


def test_the_head_read_from_the_files_is_alembics_head():
    # Given the migration files; when the head is read without Alembic, and by Alembic
    from alembic.script import ScriptDirectory

    ours = kdb.head_revision()
    theirs = ScriptDirectory.from_config(kdb.alembic_config("postgresql://x/y")).get_current_head()
    # Then they agree
    assert ours is not None and ours == theirs


def test_an_outdated_database_is_still_migrated(empty_database_url):
    # Given a database at the first revision
    kdb.migrate(empty_database_url, "0001")
    # When a command checks migrations
    kdb.ensure_migrated(empty_database_url)
    # Then it is at head
    assert kdb.current_revision(empty_database_url) == kdb.head_revision()
