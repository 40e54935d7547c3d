"""Kith's one error hierarchy: every error raised on purpose, in every layer, is a KithError.

    KithError
    ├── SourceError                 something went wrong talking to a source (ingest connectors)
    │   ├── RateLimited(retry_after)   the provider asked us to slow down (429, 403 rate, 503)
    │   ├── TransientError             5xx, timeouts, resets: retry with jittered backoff
    │   ├── CursorExpired              stale historyId / syncToken / deltaLink: full resync
    │   └── AuthRevoked                invalid_grant, interaction_required: user must reconnect
    ├── InputError                  a file or request Kith cannot read (clear message, no traceback)
    │   ├── UnknownProvider            service.providers: no such source in the registry
    │   ├── NotThisBrowser             service.providers.oauth_states: a callback from another browser
    │   ├── BadMoment                  service.ties.as_of: an as_of that is not a time Kith can score at
    │   ├── BadCursor                  service.ties.cursor, service.people.exclusion_pages: a forged page cursor
    │   ├── UploadRefused              service.uploads: a dashboard upload Kith cannot take (kind, empty)
    │   │   └── TooLarge                   service.uploads: over the upload size limit
    │   └── InvitationRefused(status)  service.teams.invitations: a forged, expired, used or misaddressed invitation
    ├── ConfigError                 settings that cannot work
    ├── CredentialError             service.crypto: stored credentials cannot be decrypted
    ├── AlreadySyncing              service.sync: another worker holds this account's sync lock
    ├── QueueUnavailable            service.jobs.actors: the broker did not take the message
    ├── ConnectUnavailable          service.providers.web_flow: the provider's OAuth start cannot be reached
    ├── OutboxBusy                  service.digest.outbox: another attempt holds this digest
    └── NotDelivered(permanent)     service.digest.mailer: SMTP refused before DATA (certainly not sent)

Why the root is here: the top-level layout is fixed (ingest/, analytics/, service/), service
imports ingest and never the other way, so the one module every layer may import is this
one. Each subclass lives next to the code that raises it and is drawn above; a new error
class goes into this drawing too (tests/unit/test_errors_tree.py holds the drawing to the code).
Some keep a builtin base besides (BadMoment, BadCursor and InvitationRefused are ValueErrors, QueueUnavailable
and ConnectUnavailable RuntimeErrors) so that the code catching them as such still does.

Left outside on purpose: control-flow signals that never leave their module
(ingest.recurrence.Exhausted and Unreadable, ingest.microsoft.graph._Refused,
service.api.observability._BodyTooLarge), and analytics.lockbox.LockboxError, a guard
against a programming mistake in an evaluation (analytics stays free of ingest imports).

Connectors raise only SourceError, InputError and ConfigError; the sync engine and actors
decide what to do with each. Messages never include tokens, codes or secrets.
"""

from __future__ import annotations


class KithError(Exception):
    """Base of every error Kith raises on purpose."""


class SourceError(KithError):
    pass


class RateLimited(SourceError):
    def __init__(self, retry_after: float = 1.0, message: str = "rate limited by provider"):
        super().__init__(f"{message} (retry after {retry_after:.1f}s)")
        self.retry_after = float(retry_after)


class TransientError(SourceError):
    pass


class CursorExpired(SourceError):
    pass


class AuthRevoked(SourceError):
    pass


class InputError(KithError):
    pass


class ConfigError(KithError):
    pass
