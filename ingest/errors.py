"""Errors raised by sources, translated at the provider boundary.

    KithError
    ├── SourceError                 something went wrong talking to a source
    │   ├── RateLimited(retry_after)   the provider asked us to slow down (429, 403 rate, 503)
    │   ├── TransientError             5xx, timeouts, resets: retry with jittered backoff
    │   ├── CursorExpired              stale historyId / syncToken / deltaLink: full resync
    │   └── AuthRevoked                invalid_grant, interaction_required: user must reconnect
    ├── InputError                  a file or request Kith cannot read (clear message, no traceback)
    └── ConfigError                 settings that cannot work

Connectors raise only these; the sync engine and actors decide what to do with each.
Messages never include tokens, codes or secrets.
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
