"""The weekly relationship-health email.

content (pure: what to say) -> render (HTML, text, chart, headers) -> outbox (exactly
once per user and week) -> mailer (SMTP or .eml files); schedule decides who is due,
service.jobs runs the sending on the `email` queue, links sign unsubscribe and snooze URLs.

Public entry points (CLI, API, the `send_weekly_digest` job): `render_preview`, `send_digest`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone

from . import inputs, outbox
from .content import Digest, build_digest
from .mailer import mailer_for
from .render import render_message, render_preview_html

log = logging.getLogger(__name__)

__all__ = ["Digest", "build_digest", "render_preview", "send_digest", "digest_for", "target_week"]


def target_week(conn, user_id: int, week: date | None = None, *, now: datetime | None = None) -> date:
    """The Monday of `week`, or of this week in the user's time zone."""
    now = now or datetime.now(timezone.utc)
    return inputs.week_start(week) if week else inputs.current_week(inputs.profile(conn, user_id), now)


def digest_for(settings, conn, user_id: int, week: date | None = None, *, now: datetime | None = None) -> Digest:
    now = now or datetime.now(timezone.utc)
    p = inputs.profile(conn, user_id)
    week = inputs.week_start(week) if week else inputs.current_week(p, now)
    return inputs.load_digest(conn, p, week, now)


def render_preview(settings, conn, user_id: int, week: date | None = None) -> str:
    """The digest as a self-contained HTML page (chart inlined as a data: URI)."""
    d = digest_for(settings, conn, user_id, week)
    return render_preview_html(d, base_url=settings.base_url, secret=settings.secret())


def send_digest(
    settings,
    db,
    user_id: int,
    week: date | None = None,
    *,
    force: bool = False,
    resend: bool | None = None,
    now: datetime | None = None,
) -> str:
    """Send the user's digest for `week` (default: this week, in their time zone).

    Returns "sent", "already_sent", "skipped" or "provisional". Nothing is sent, forced or
    not, while the scores are provisional (a first sync is still reading older mail): the
    week is left open, so the schedule sends it once they are final. Without `force` it is
    idempotent: once per
    user and week, nothing when the digest is off or snoozed, nothing when the week is
    quiet and the user chose quiet_mode 'skip'. `force` (the CLI's --send) ignores those
    choices, so a week the schedule skipped goes out when asked for; a week that already
    went out is sent again, as a new message, only with `resend` (default: `force`, as
    before; the CLI's --send passes False, its --resend True), so a cron job running
    `kith digest --send` twice mails once.
    """
    again = force if resend is None else resend
    now = now or datetime.now(timezone.utc)
    with db.pool.connection() as conn:
        conn.autocommit = True  # plain reads; the outbox commits each state change on its own
        try:
            p = inputs.profile(conn, user_id)
            target = inputs.week_start(week) if week else inputs.current_week(p, now)
            if target == inputs.current_week(p, now) and inputs.needs_scoring(p, now):
                _score(db, user_id)
            if _provisional(conn, user_id):
                log.info("digest for user %s week %s held: scores are provisional", user_id, target)
                return "provisional"
            secret = settings.secret()

            def render(conn, resend: int):
                if not force and (
                    not p.enabled
                    or (p.snooze_until is not None and p.snooze_until >= target + timedelta(days=p.weekday))
                ):
                    return None
                d = inputs.load_digest(conn, p, target, now)
                if d.quiet and p.quiet_mode == "skip" and not force:
                    return None
                return render_message(
                    d,
                    base_url=settings.base_url,
                    secret=secret,
                    mail_from=getattr(settings, "mail_from", None),
                    now=now,
                    resend=resend,
                )

            return outbox.deliver(
                conn, mailer_for(settings), user_id, target, render=render, force=again, retry_skipped=force
            )
        finally:
            if not conn.closed:
                conn.autocommit = False


def _provisional(conn, user_id: int) -> bool:
    from .. import coverage

    return coverage.latest(conn, user_id).provisional or coverage.live(conn, user_id).provisional


def _score(db, user_id: int) -> None:
    """Score the user first when their latest snapshot is older than a day's sync."""
    from ..ties.scoring import score_user

    try:
        score_user(db, user_id)
    except Exception:  # a scoring failure must not cost the user their email
        log.exception("scoring user %s before the digest failed; using the last snapshot", user_id)
