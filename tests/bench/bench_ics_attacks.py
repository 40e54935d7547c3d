"""Benchmark: the three hostile .ics files of issue 13 through `import_file` into PostgreSQL,
with the CPU time of the import and the rows it leaves.

    KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    .venv/bin/python tests/bench/bench_ics_attacks.py [never|secondly|attendees ...]

- never:     ten events with RRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30 (a rule that never matches)
- secondly:  fifty open-ended SECONDLY series
- attendees: one event with 20,000 attendees and RRULE:FREQ=DAILY;COUNT=50

Each attack runs in a fresh migrated database, dropped afterwards. CPU time is the process's
(user + system) during the import, database server excluded.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.scale import fresh_database


def _calendar(events: list[str]) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{e}END:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//kith//attack//EN\r\n{body}END:VCALENDAR\r\n".encode()


def never_matching() -> bytes:
    return _calendar(
        [
            f"UID:never{n}@x\r\nDTSTART:20260101T080000Z\r\nRRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30\r\n"
            for n in range(10)
        ]
    )


def secondly() -> bytes:
    return _calendar([f"UID:sec{n}@x\r\nDTSTART:20260101T080000Z\r\nRRULE:FREQ=SECONDLY\r\n" for n in range(50)])


def attendees() -> bytes:
    people = "".join(f"ATTENDEE;CN=Person {n}:mailto:p{n}@crowd.example\r\n" for n in range(20_000))
    return _calendar(
        [
            "UID:crowd@x\r\nDTSTART:20260101T080000Z\r\nRRULE:FREQ=DAILY;COUNT=50\r\n"
            "ORGANIZER:mailto:boss@crowd.example\r\n" + people
        ]
    )


ATTACKS = {"never": never_matching, "secondly": secondly, "attendees": attendees}


def run(name: str, server: str) -> dict:
    import psycopg
    from psycopg import sql

    from service.db import Database
    from service.imports import import_file
    from service.store import create_user

    db_name, url = fresh_database(server, "kith_bench_ics")
    db = Database(url, min_size=1, max_size=2)
    try:
        with db.tx() as conn:
            user_id = create_user(conn, "me@kith.example")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}.ics"
            path.write_bytes(ATTACKS[name]())
            cpu, wall = time.process_time(), time.monotonic()
            import_file(db, user_id, "ics", path)
            cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        with db.tx() as conn:
            counts = {
                table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("interactions", "participants", "quarantine")
            }
            reasons = sorted({r[0] for r in conn.execute("SELECT reason FROM quarantine").fetchall()})
        return {"attack": name, "cpu_s": round(cpu, 2), "wall_s": round(wall, 2), **counts, "reasons": reasons}
    finally:
        db.close()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name)))


def main(argv: list[str]) -> None:
    server = os.environ.get("KITH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    for name in argv or list(ATTACKS):
        print(run(name, server), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
