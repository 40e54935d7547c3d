"""A process that imports a worker's modules once and forks a fresh process per run.

The crash tests start a sync worker, SIGKILL it, and start it again, up to sixty times a
test; a new interpreter spends ~0.5 CPU-s importing the worker's modules each time, which was
most of what those tests cost. A `Zygote` imports them once; each run is a child forked from
it (before any thread or connection exists in the zygote), so it is still a process of its
own with its own connections, killed with a real SIGKILL, and its exit status is reported as
`subprocess` reports one (0, 1, -9...). Its environment, working directory and `sys.argv` are
the ones asked for; stdin is /dev/null, and stdout and stderr are kept for the test.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]


def _child(request: dict) -> None:
    code = 1
    try:
        opened = os.open(os.devnull, os.O_RDONLY)
        os.dup2(opened, 0)
        os.close(opened)
        for fd, name in ((1, "stdout"), (2, "stderr")):
            opened = os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(opened, fd)
            os.close(opened)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = [request["target"], *request["argv"]]
        module, name = request["target"].split(":")
        getattr(importlib.import_module(module), name)()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(modules: list[str]) -> None:
    """The zygote's loop: one JSON request a line on stdin; answers the child's pid, then
    its exit status, a line each on stdout."""
    for module in modules:
        importlib.import_module(module)
    out = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        out.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)
        out.write(f"{pid}\n")
        out.flush()
        _, status = os.waitpid(pid, 0)
        out.write(f"{os.waitstatus_to_exitcode(status)}\n")
        out.flush()


class Run(NamedTuple):
    """What a run left, as `subprocess.run` reports it: exit status, stdout and stderr."""

    returncode: int
    stdout: str
    stderr: str


class Zygote:
    """`Zygote(modules)` starts the zygote; `run(target, env, argv)` runs `module:function` in a
    child of it (with `sys.argv[1:]` = argv) and returns its `Run`; `close()` ends the zygote."""

    def __init__(self, modules: list[str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from tests.support.zygote import serve; serve(sys.argv[1:])", *modules],
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if not k.startswith("KITH_")} | {"PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._buffer = b""

    def _line(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.proc.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError(f"the zygote ended (status {self.proc.wait()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def run(
        self,
        target: str,
        env: dict[str, str],
        kill_at_s: float | None = None,
        timeout: float = 240,
        argv: list[str] | tuple[str, ...] = (),
    ) -> Run:
        with (
            tempfile.NamedTemporaryFile(prefix="kith-zygote-", suffix=".out") as out,
            tempfile.NamedTemporaryFile(prefix="kith-zygote-", suffix=".err") as err,
        ):
            request = {
                "target": target,
                "env": env,
                "argv": list(argv),
                "cwd": str(ROOT),
                "stdout": out.name,
                "stderr": err.name,
            }
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
            pid = int(self._line(60) or 0)
            assert pid, "the zygote did not fork"
            status = None
            if kill_at_s is not None:
                status = self._line(kill_at_s)
                if status is None:
                    os.kill(pid, signal.SIGKILL)
            if status is None:
                status = self._line(timeout)
            if status is None:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"{target} did not end within {timeout} s")
            return Run(
                int(status), Path(out.name).read_text(errors="replace"), Path(err.name).read_text(errors="replace")
            )

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def zygote_fixture(modules: list[str]) -> tuple[Callable[[], Iterator[Zygote]], list[Zygote]]:
    """(fixture, running): a module-scoped autouse pytest fixture that starts a Zygote of
    `modules` for the test module that binds it to a name and closes it after, and the list
    whose last item is the zygote running now."""
    import pytest  # here, not at the top: the zygote process itself imports this module

    running: list[Zygote] = []

    @pytest.fixture(scope="module", autouse=True)
    def zygote() -> Iterator[Zygote]:
        running.append(Zygote(modules))
        yield running[-1]
        running.pop().close()

    return zygote, running
