"""Routes for the weekly digest: its settings (time zone, weekday, hour, snooze) and a preview."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse
from psycopg.rows import dict_row

from ..digest import render_preview
from . import snooze
from .deps import Config, Db, User
from .schemas import DigestSettings, DigestSettingsIn

router = APIRouter(prefix="/v1/digest", tags=["digest"])

_READ = """
SELECT u.timezone, coalesce(d.weekday, 0) AS weekday, coalesce(d.hour, 8) AS hour,
       coalesce(d.enabled, true) AS enabled, coalesce(d.quiet_mode, 'note') AS quiet_mode, d.snooze_until
FROM users u LEFT JOIN digest_settings d ON d.user_id = u.id WHERE u.id = %s
"""


def read_settings(conn, user_id: int) -> dict:
    return conn.cursor(row_factory=dict_row).execute(_READ, (user_id,)).fetchone()


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@router.get("/settings", response_model=DigestSettings, summary="Digest settings")
def get_settings_(user: User, db: Db) -> dict:
    with db.tx() as conn:
        return read_settings(conn, user)


@router.patch(
    "/settings",
    response_model=DigestSettings,
    summary="Change digest settings",
    description="Only the fields sent change. `snooze_until` set pauses the digest until that "
    "date (from today to a year ahead, in your time zone); send null to resume. The time zone is an IANA name.",
)
def patch_settings(body: DigestSettingsIn, user: User, db: Db) -> dict:
    changes = body.model_dump(exclude_unset=True)
    if "timezone" in changes and (changes["timezone"] is None or not _valid_zone(changes["timezone"])):
        raise HTTPException(422, f"timezone: {changes['timezone']!r} is not an IANA time zone name.")
    for field in ("weekday", "hour", "enabled", "quiet_mode"):
        if field in changes and changes[field] is None:
            raise HTTPException(422, f"{field}: may be left out, not null.")
    with db.tx() as conn:
        if changes.get("snooze_until") is not None:
            snooze.check_until(conn, user, "snooze_until", changes["snooze_until"], changes.get("timezone"))
        if "timezone" in changes:
            conn.execute("UPDATE users SET timezone = %s WHERE id = %s", (changes.pop("timezone"), user))
        conn.execute("INSERT INTO digest_settings (user_id) VALUES (%s) ON CONFLICT DO NOTHING", (user,))
        if changes:
            # Column names come from the model's own fields, never from the request's keys.
            assignments = ", ".join(f"{name} = %({name})s" for name in changes)
            conn.execute(f"UPDATE digest_settings SET {assignments} WHERE user_id = %(user)s", changes | {"user": user})
        return read_settings(conn, user)


@router.get(
    "/preview",
    response_model=None,
    summary="This week's digest, as HTML",
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}, "example": "<!doctype html><html>...</html>"}}}
    },
)
def preview(user: User, db: Db, settings: Config) -> HTMLResponse:
    with db.tx() as conn:
        html = render_preview(settings, conn, user)
    return HTMLResponse(html)
