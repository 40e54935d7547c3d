"""`kith ARGS` run in the test's own process, answered as a finished process would be.

A `python -m service.cli` subprocess spends most of a short command importing (0.3-0.5 s of
CPU each, 2-3 s for `kith backtest`, which loads scikit-learn and SciPy); the tests that are
about what a command prints and stores, not about the process, run it here instead. What a
process would add is kept: `main`'s error handling (a KithError is one line on stderr,
exit 1), the environment made of exactly the given KITH_* variables, an empty stdin, the
root logger writing warnings to stderr as `main`'s `logging.basicConfig` sets it up, a
traceback on stderr and exit 1 for an exception nothing caught, and the pools a command
leaves for `atexit` closed when it returns. The tests about the process itself (a fresh
interpreter's imports, the console's width from COLUMNS, signals, embedded servers) still
start one.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback
from types import SimpleNamespace
from unittest import mock

from click.testing import CliRunner


def kith_env(database_url: str, redis_url: str, home: str, secret_key: str) -> dict[str, str]:
    """The KITH_* environment of a command: these four, and no other KITH_ variable."""
    return {
        "KITH_DATABASE_URL": database_url,
        "KITH_REDIS_URL": redis_url,
        "KITH_HOME": home,
        "KITH_SECRET_KEY": secret_key,
    }


def run_kith(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`kith ARGS` with `env` as its KITH_* variables, in this process."""
    from service import cli
    from service.cli import runtime

    overrides: dict[str, str | None] = {k: None for k in os.environ if k.startswith("KITH_")}
    overrides.update(env)
    at_exit: list = []
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_argv = sys.argv
    with CliRunner().isolation(input="", env=overrides) as (stdout, stderr, _):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.handlers = [handler]
        root.setLevel(os.environ.get("KITH_LOG_LEVEL", "WARNING"))
        sys.argv = ["kith", *args]
        try:
            with mock.patch.object(runtime, "atexit", SimpleNamespace(register=at_exit.append)):
                cli.main()
            code = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:  # as the interpreter does with a message for an exit status
                print(exc.code, file=sys.stderr)
                code = 1
        except BaseException:  # what the interpreter prints for an exception nothing caught
            traceback.print_exc()
            code = 1
        finally:
            sys.argv = saved_argv
            for close in reversed(at_exit):
                close()
            sys.stdout.flush()
            sys.stderr.flush()
            root.handlers = saved_handlers
            root.setLevel(saved_level)
        return subprocess.CompletedProcess(
            ["kith", *args], code, stdout.getvalue().decode(), stderr.getvalue().decode()
        )
