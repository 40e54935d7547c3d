"""The embedded PostgreSQL and Redis do not outlive the commands that started them.

A `kith` command alone starts them and stops them when it ends; beside a longer-lived
process (a `kith serve`) it leaves them to that one, which stops them when it ends. A
process killed with -9 cannot stop anything: the next command does, or `kith stop`.
Each test runs real processes on a KITH_HOME of its own, with no URLs set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from service import embedded

HOLD = (
    "import sys\n"
    "from service import embedded\n"
    "from service.config import Settings\n"
    "embedded.resolve(Settings(home=sys.argv[1]))\n"
    "print('up', flush=True)\n"
    "sys.stdin.read()\n"
)


def _env(home) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env["KITH_HOME"] = str(home)
    env["KITH_SECRET_KEY"] = "lifetime-test-key"
    return env


def _kith(home, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _holder(home) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home)],
        env=_env(home),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "up"
    return proc


def test_a_command_alone_stops_what_it_started_and_leaves_a_running_holder_alone(tmp_path):
    home = (tmp_path / "home").resolve()
    try:
        # Given no embedded server, when a command runs and ends
        done = _kith(home, "migrate")
        assert done.returncode == 0, done.stderr
        # Then nothing it started is left running
        assert embedded.running(home) == []
        # Given a longer-lived process using the servers (as `kith serve` does)
        holder = _holder(home)
        assert embedded.running(home)
        # When a command runs beside it and ends
        assert _kith(home, "migrate").returncode == 0
        # Then the servers are still up for the holder
        assert embedded.running(home)
        # And when the holder ends, they stop
        holder.stdin.close()
        holder.wait(timeout=60)
        assert embedded.running(home) == []
    finally:
        embedded.stop_all(home)


@pytest.mark.slow
def test_kith_stop_stops_what_a_killed_process_left(tmp_path):
    home = (tmp_path / "home").resolve()
    try:
        # Given a process using the servers, killed before it could stop them
        holder = _holder(home)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        assert embedded.running(home)
        # When `kith stop` runs
        done = _kith(home, "stop")
        # Then it says what it stopped, and nothing is left
        assert done.returncode == 0 and "stopped PostgreSQL and Redis" in done.stderr
        assert embedded.running(home) == []
        # And run again, it says nothing was running
        assert "nothing was running" in _kith(home, "stop").stderr
    finally:
        embedded.stop_all(home)
