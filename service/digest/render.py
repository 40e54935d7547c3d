"""A `Digest` as mail: Jinja2 HTML (tables, inline CSS, no external assets), plain text,
the chart as an inline image by Content-ID, and the headers that matter.

The Message-ID is fixed here, at render time, and stored with the bytes in the outbox:
every attempt to deliver this digest sends the very same message, so a re-send after a
crash is recognisable as the same mail (see outbox.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
import unicodedata
from email.headerregistry import Address
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .links import list_unsubscribe_headers, snooze_url, unsubscribe_url
from .chart import chart_png
from .content import Digest

TEMPLATES = Path(__file__).parent / "templates"
CHART_CID = "chart@kith"
SNOOZE_WEEKS = 4


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    message_id: str  # without <>
    sender: str  # envelope MAIL FROM
    recipient: str
    message: bytes  # the whole RFC 5322 message, CRLF line ends


def sender_address(base_url: str, mail_from: str | None = None) -> str:
    """`Kith <digest@host>` from the public URL; IPs and localhost become kith.localhost."""
    if mail_from:
        return mail_from
    host = (urlsplit(base_url).hostname or "").lower()
    if not host or host == "localhost" or host.replace(".", "").isdigit() or ":" in host:
        host = "kith.localhost"
    return f"Kith <digest@{host}>"


def message_id(secret: bytes, user_id: int, week: date, domain: str, resend: int = 0) -> str:
    """Deterministic per (user, week[, manual resend]), not guessable without the secret."""
    tag = hmac.new(
        secret, f"digest-message-id\x1f{user_id}\x1f{week.isoformat()}\x1f{resend}".encode(), hashlib.sha256
    ).hexdigest()[:16]
    suffix = f".r{resend}" if resend else ""
    return f"digest.{user_id}.{week.isoformat()}{suffix}.{tag}@{domain}"


def _context(d: Digest, *, base_url: str, secret: bytes, chart_src: str) -> dict:
    until = d.week + timedelta(weeks=SNOOZE_WEEKS)
    snooze = {
        t.key: (snooze_url(base_url, secret, d.user_id, t.person_id, until) if t.person_id is not None else None)
        for t in d.deepen
    }
    return {
        "d": d,
        "week_label": f"{d.week.day} {d.week:%b %Y}",
        "chart_src": chart_src,
        "snooze": snooze,
        "snooze_weeks": SNOOZE_WEEKS,
        "unsubscribe_url": unsubscribe_url(base_url, secret, d.user_id),
        "reconnect_url": base_url.rstrip("/") + "/",
    }


def render_parts(
    d: Digest, *, base_url: str, secret: bytes, chart: bytes | None, inline_chart: bool = False
) -> tuple[str, str]:
    """(html, text). `inline_chart` puts the PNG in a data: URI (browser preview);
    mail refers to the attached part by cid: instead."""
    if inline_chart and chart is not None:
        src = "data:image/png;base64," + base64.b64encode(chart).decode()
    else:
        src = f"cid:{CHART_CID}"
    ctx = _context(d, base_url=base_url, secret=secret, chart_src=src)
    html = _env().get_template("digest.html.j2").render(ctx)
    return html, render_text(ctx)


def render_text(ctx: dict) -> str:
    """The plain-text part: same content, short lines, links spelled out."""
    d: Digest = ctx["d"]
    out = [f"Kith - week of {ctx['week_label']}", "", d.headline, ""]
    if d.notice:
        out += [d.notice, ""]
    if d.reconnect:
        out += [
            "RECONNECT: Kith lost access to " + ", ".join(a.label for a in d.reconnect) + ".",
            f"Reconnect: {ctx['reconnect_url']}",
            "",
        ]
    if d.quiet:
        out.append("Nothing needs you this week: no tie is asking for attention and nothing moved much.")
        if d.strongest:
            out.append("Your strongest ties right now: " + ", ".join(t.name for t in d.strongest[:3]) + ".")
        out.append("")
    else:
        if d.deepen:
            out += ["TIES TO DEEPEN", ""]
            for i, t in enumerate(d.deepen, 1):
                delta = f", {t.delta:+d} this week" if t.delta else ""
                out.append(f"{i}. {t.name} (strength {t.strength}{delta})")
                out.append(f"   {t.reason}")
                if t.suggestion:
                    out.append(f"   -> {t.suggestion}")
                if ctx["snooze"].get(t.key):
                    out.append(f"   Snooze for {ctx['snooze_weeks']} weeks: {ctx['snooze'][t.key]}")
                out.append("")
        if d.changes:
            out += ["SINCE LAST WEEK"] + [f"- {c.text}" for c in d.changes] + [""]
        if d.strongest:
            out.append("STRONGEST TIES")
            for t in d.strongest:
                out.append(f"- {t.name}: {t.strength}" + (f" ({t.delta:+d})" if t.delta else ""))
            out.append("")
        if d.you_give or d.they_give:
            out.append("WHO GIVES MORE")
            if d.you_give:
                out.append("You give more to: " + ", ".join(f"{t.name} (+{t.reciprocity})" for t in d.you_give))
            if d.they_give:
                out.append("Others give more: " + ", ".join(f"{t.name} ({t.reciprocity})" for t in d.they_give))
            out.append("")
    if d.team_line:
        out += [f"{d.team_line} Team page: {ctx['reconnect_url']}team", ""]
    out += [
        "-- ",
        "Kith reads who wrote to whom and who met whom, never what was said.",
        f"Unsubscribe: {ctx['unsubscribe_url']}",
        "",
    ]
    return "\n".join(out)


def render_preview_html(d: Digest, *, base_url: str, secret: bytes) -> str:
    chart = chart_png(d.chart) if d.chart and not d.quiet else None
    return render_parts(d, base_url=base_url, secret=secret, chart=chart, inline_chart=True)[0]


def _qp(text: str) -> bytes:
    data = text.replace("\r\n", "\n").encode("utf-8")
    return binascii.b2a_qp(data, istext=True, header=False).replace(b"\n", b"\r\n")


def _one_line(text: str) -> str:
    """Header text from what users and mail chose (names, the subject): every control or
    line-separator character becomes a space, since a CR or LF would end the header there
    and start one the text wrote itself (a Bcc, say)."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return " ".join(cleaned.split())


def _header(name: str, value: str | Address) -> str:
    """One header line built by the stdlib's header registry: addresses quoted and checked
    (an Address refuses CR/LF), non-ASCII as RFC 2047 words, folded at 78 with CRLF."""
    return SMTP.fold(name, SMTP.header_factory(name, value)).rstrip("\r\n")


def recipient_header(name: str, addr: str) -> str:
    return _header("To", Address(display_name=_one_line(name), addr_spec=addr))


def mime(
    *,
    subject: str,
    sender: str,
    to_name: str,
    to_addr: str,
    date: datetime,
    message_id: str,
    extra: dict[str, str],
    text: str,
    html: str,
    chart: bytes | None,
) -> bytes:
    """The message bytes, written directly (the stdlib's EmailMessage costs more than the
    rest of the digest together): multipart/alternative of text and, with the chart,
    multipart/related of HTML and the PNG it refers to by Content-ID. CRLF throughout."""
    tag = hashlib.blake2b(message_id.encode(), digest_size=8).hexdigest()
    alt, rel = f"=_kith_alt_{tag}", f"=_kith_rel_{tag}"
    head = [
        _header("Subject", _one_line(subject)),
        _header("From", sender),
        recipient_header(to_name, to_addr),
        f"Date: {format_datetime(date)}",
        f"Message-ID: <{message_id}>",
    ]
    head += [f"{k}: {v}" for k, v in extra.items()]
    head += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{alt}"']
    qp_headers = "Content-Transfer-Encoding: quoted-printable"
    out = [
        "\r\n".join(head).encode(),
        b"\r\n\r\n",
        f'--{alt}\r\nContent-Type: text/plain; charset="utf-8"\r\n{qp_headers}\r\n\r\n'.encode(),
        _qp(text),
        b"\r\n",
    ]
    html_part = [f'Content-Type: text/html; charset="utf-8"\r\n{qp_headers}\r\n\r\n'.encode(), _qp(html), b"\r\n"]
    if chart is None:
        out += [f"--{alt}\r\n".encode()] + html_part
    else:
        out += [
            f'--{alt}\r\nContent-Type: multipart/related; type="text/html"; boundary="{rel}"\r\n\r\n'.encode(),
            f"--{rel}\r\n".encode(),
        ] + html_part
        out += [
            f"--{rel}\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
            f'Content-ID: <{CHART_CID}>\r\nContent-Disposition: inline; filename="chart.png"\r\n\r\n'.encode(),
            base64.encodebytes(chart).replace(b"\n", b"\r\n"),
            f"--{rel}--\r\n".encode(),
        ]
    out.append(f"--{alt}--\r\n".encode())
    return b"".join(out)


def render_message(
    d: Digest,
    *,
    base_url: str,
    secret: bytes,
    mail_from: str | None = None,
    now: datetime | None = None,
    resend: int = 0,
) -> Rendered:
    now = now or datetime.now(timezone.utc)
    sender = sender_address(base_url, mail_from)
    envelope_from = parseaddr(sender)[1]
    domain = envelope_from.rpartition("@")[2] or "kith.localhost"
    chart = chart_png(d.chart) if d.chart and not d.quiet else None
    html, text = render_parts(d, base_url=base_url, secret=secret, chart=chart)
    mid = message_id(secret, d.user_id, d.week, domain, resend)
    extra = dict(list_unsubscribe_headers(base_url, secret, d.user_id))
    # Wanted, automated mail: ask vacation responders not to answer it.
    extra["Auto-Submitted"] = "auto-generated"
    extra["X-Auto-Response-Suppress"] = "All"
    message = mime(
        subject=d.subject,
        sender=sender,
        to_name=d.user_name or "",
        to_addr=d.user_email,
        date=now,
        message_id=mid,
        extra=extra,
        text=text,
        html=html,
        chart=chart,
    )
    return Rendered(subject=d.subject, message_id=mid, sender=envelope_from, recipient=d.user_email, message=message)
