"""The assembly of the analytics input, pure: interaction rows and what is known of the
user's people in, `analytics.records.Exchange`s from the user's side out, with the people
in them and what was left out and why.

    result = assemble(rows, directory, include_colleagues=True)
    result.exchanges   # [Exchange], noise left out, for analytics.score_ties
    result.info        # {person_id: {"name", "addresses", "primary", "colleague"}}
    result.exclusions  # [{"address", "person_id", "reason", "count", "tie_kept"}], no order

No database here: `exchanges.py` reads the rows (`InteractionRow`, one per interaction)
and the `Directory` and hands them in, so every rule of what counts as a relationship is
testable with plain values. Decisions about single mails and addresses come from
`ingest.noise`; this module applies them across the mailbox (one-way senders, lists,
bystanders). An address without a person (mail newer than the last `refresh_people`) is
left out and listed in `result.unknown`: assembling never creates people.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from analytics.records import USER, Exchange
from ingest import identity, noise
from ingest.audience import AUDIENCE_CAP

from .book import _Book
from .non_ties import _LIST_REASONS, _drop_non_ties, _without
from .records import AnalyticsInput, Directory


def assemble(rows: Iterable[tuple], directory: Directory, *, include_colleagues: bool = True) -> AnalyticsInput:
    """The analytics input from interaction rows in time order (see `InteractionRow`)."""
    book = _Book(directory.person_of, directory.own, noise.Rules(directory.rules))
    excluded: Counter = Counter()
    kept, raw_sender, listy = _assemble(rows, book, excluded)
    kept = _drop_non_ties(kept, raw_sender, book, excluded, listy)

    pids = {p for x in kept for p in (x.sender, *x.recipients)} - {USER}
    info = _people_info(directory, pids)
    tied = set(info)
    if not include_colleagues:
        kept = _without(kept, {p for p, v in info.items() if v["colleague"]})
        pids = {p for x in kept for p in (x.sender, *x.recipients)} - {USER}
        info = {p: v for p, v in info.items() if p in pids}
    # Everyone who is no tie and has no reason yet was only on interactions left out.
    explained = {pid for (_a, pid, _r) in excluded}
    for (a, reason), n in book.collateral.items():
        pid = book[a][0]
        if pid is not None and pid != USER and pid not in tied and pid not in explained:
            excluded[(a, pid, noise.ONLY_ON.format(reason=reason))] += n
    # `tie_kept`: the person is still a tie through other interactions (only some of their
    # mail was left out, e.g. calendar notifications), as opposed to left out altogether.
    out = [
        {"address": a, "person_id": pid, "reason": reason, "count": n, "tie_kept": pid in tied}
        for (a, pid, reason), n in excluded.items()
    ]
    return AnalyticsInput(kept, info, out, frozenset(book.unknown))


def _people_info(directory: Directory, pids: set[int]) -> dict[int, dict]:
    used, names, domains = directory.used, directory.names, directory.org_domains
    info: dict[int, dict] = {}
    for pid in pids:
        mine = directory.addresses.get(pid, [])
        # The address the person is seen with most, readable SMTP before a legacy DN.
        primary = max(mine, key=lambda a: ("@" in a, used.get(a, 0), -len(a), a)) if mine else None
        colleague = any(identity.in_domains(a, domains) for a in mine) if domains else False
        info[pid] = {"name": names.get(pid), "addresses": mine, "primary": primary, "colleague": colleague}
    return info


def _assemble(rows, book: _Book, excluded: Counter):
    """Interactions -> Exchanges from the user's side, interaction noise left out."""
    kept: list[Exchange] = []
    raw_sender: list[str | None] = []
    seen_mail: set[str] = set()
    seen_meetings: set[tuple] = set()
    listy: set[int] = set()
    who = book
    for row in rows:
        (
            kind,
            at,
            message_id,
            reply_to,
            thread_id,
            duration_s,
            status,
            labels,
            is_sent,
            is_draft,
            headers,
            first,
            rcpt,
            attendees,
            n_participants,
        ) = row[:15]
        to_raw = row[15].split("\x1f") if len(row) > 15 and row[15] else None
        labels = labels.split("\x1f") if labels else ()
        if kind == "email":
            if message_id and message_id in seen_mail:
                continue  # the same mail in two of the user's mailboxes
            rcpt_raw = rcpt.split("\x1f") if rcpt else []
            sender, robot, verdict = who[first] if first else (None, None, None)
            if is_sent:
                sender = USER
            if sender is None:
                continue
            action = verdict[0] if verdict else None
            if verdict is not None and action == "block":
                excluded[(first, sender, verdict[1])] += 1
                continue
            allowed = action == "allow"
            reason = None
            big = (n_participants or 0) > AUDIENCE_CAP  # a broadcast counted, not stored whole
            if headers or labels or is_draft or big or len(rcpt_raw) > noise.RECIPIENT_CAP:
                n_rcpt = max(len(set(rcpt_raw)), n_participants - 1) if big else len(set(rcpt_raw))
                reason = noise.email_reason(
                    {} if allowed else (headers or {}), () if allowed else labels, n_rcpt, is_draft=is_draft
                )
            if reason is None and sender != USER and not allowed:
                reason = robot
            if reason:
                excluded[(first, sender, reason)] += 1
                for a in rcpt_raw:
                    book.collateral[(a, reason)] += 1
                if reason in _LIST_REASONS:
                    listy.add(sender)
                continue
            everyone = {who[a][0] for a in rcpt_raw}
            if first:
                everyone.add(who[first][0])
            everyone.discard(USER)
            everyone.discard(None)
            recipients = _keep(rcpt_raw, book, excluded, sender)
            if sender != USER and USER not in recipients:
                recipients.append(USER)  # delivered to the user (bcc, alias, forward)
            if sender == USER and not recipients:
                continue
            cc = _off_to_line(recipients, to_raw, book)
            if message_id:
                seen_mail.add(message_id)
            kept.append(
                Exchange(
                    at=at,
                    kind="email",
                    sender=sender,
                    recipients=tuple(recipients),
                    thread=thread_id,
                    key=message_id,
                    reply_to=reply_to,
                    audience=max(1, len(everyone)),
                    cc=cc,
                )
            )
            raw_sender.append(first)
            continue
        # A meeting: organiser -> attendees who did not decline.
        others = [part.split("\x1e") for part in attendees.split("\x1f")] if attendees else []
        org_raw = first
        user_response = "organizer" if org_raw and who[org_raw][0] == USER else None
        going_raw: list[str] = []
        for a, resp in others:
            if who[a][0] == USER:
                user_response = resp or user_response
            elif resp != "declined":
                going_raw.append(a)
        org = who[org_raw][0] if org_raw else USER
        org = USER if org is None else org
        present = _keep([org_raw, *going_raw] if org_raw else going_raw, book, excluded, None, count=False)
        others_set = set(present) - {USER}
        n_others, n_attendees = len(others_set), len(others)
        if (n_participants or 0) > AUDIENCE_CAP:  # counted, not stored whole (ingest.audience)
            n_others = n_attendees = max(n_others, n_participants - 1)
        reason = noise.meeting_reason(status, n_others, user_response, attendees=n_attendees)
        if reason:
            excluded[(org_raw or "", org, reason)] += 1
            for a, _resp in others:
                book.collateral[(a, reason)] += 1
            continue
        if org not in others_set and org != USER:
            org = USER  # the organiser was filtered out (room, robot, blocked)
        recipients = [p for p in present if p != org]
        if org != USER and USER not in recipients:
            recipients.append(USER)
        mkey = (at, duration_s, org, frozenset(recipients))
        if mkey in seen_meetings:
            continue  # one meeting on two of the user's calendars
        seen_meetings.add(mkey)
        kept.append(
            Exchange(
                at=at,
                kind="meeting",
                sender=org,
                recipients=tuple(recipients),
                thread=thread_id,
                key=message_id,
                duration_s=float(duration_s or 0),
                audience=len(others_set),
            )
        )
        raw_sender.append(org_raw)
    return kept, raw_sender, listy


def _off_to_line(recipients: list[int], to_raw: list[str] | None, book: _Book) -> tuple[int, ...]:
    """The recipients not named on the To line (all on it when the line is not known)."""
    if to_raw is None:
        return ()
    on_to = {book[a][0] for a in to_raw}
    return tuple(p for p in recipients if p not in on_to)


def _keep(raws, book: _Book, excluded: Counter, sender, count: bool = True) -> list[int]:
    """Person ids of `raws` without blocked or robot addresses (the user's allow wins)."""
    out: list[int] = []
    who = book
    for a in raws:
        pid, robot, verdict = who[a]
        if pid is None:
            continue
        if pid != USER:
            action, rule = verdict if verdict else (None, None)
            if action == "block" or (robot and action != "allow"):
                if count:
                    excluded[(a, pid, rule if action == "block" else robot)] += 1
                continue
        if pid != sender and pid not in out:
            out.append(pid)
    return out
