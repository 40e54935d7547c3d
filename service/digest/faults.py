"""Test-only fault injection: die with SIGKILL at a named point of the digest delivery.

Off unless the environment names a point: `KITH_FAULT_KILL_AT=after_send` makes the
process kill itself the first time it reaches that point (no cleanup, no atexit, no
`finally`: exactly what a power cut or the OOM killer does). The points are

    after_render   outbox row committed as 'rendered', nothing sent
    before_send    row committed as 'sending', SMTP not started
    after_send     the SMTP server accepted the message (250), row still 'sending'

Production never sets the variable; the check is one dict lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "KITH_FAULT_KILL_AT"
POINTS = ("after_render", "before_send", "after_send")


def point(name: str) -> None:
    if name not in POINTS:
        raise ValueError(f"unknown fault point {name!r}")
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
