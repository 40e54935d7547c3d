"""One interface for every source of interactions (as vdirsyncer's `Storage`).

A connector knows how to list its resources (a mailbox, a calendar, a mail folder) and,
for one resource and a stored cursor, yield pages of items each carrying the cursor that
follows it. `cursor=None` means "start a full sync". Connectors hold no database handle:
the sync engine writes each page and its cursor together.

Connectors raise only the errors of `ingest.errors`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

from .records import Page


class Connector(ABC):
    provider: str = "abstract"
    # True when a full sync reads the source over time while it changes (a provider's API):
    # the engine then runs one incremental round from the full sync's last cursor at once,
    # so what changed during the full sync (labels, deletions) is in before the sync ends.
    # False for a file, which is read whole as one snapshot.
    catches_up_after_full_sync: bool = False

    @abstractmethod
    def resources(self) -> list[str]:
        """Names of the resources to sync, stable across runs (e.g. "gmail", "calendar:primary")."""

    @abstractmethod
    def pages(self, resource: str, cursor: str | None) -> Iterator[Page]:
        """Yield pages from `cursor` (None: full sync) until the round is complete.

        The last page has `complete=True` and a cursor from which the next round starts
        incrementally. Raises `CursorExpired` when `cursor` is no longer valid.
        """

    def own_addresses(self) -> list[str]:
        """Addresses this source says belong to the user (account address, aliases)."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook: most connectors hold nothing to release
        """Release what the connector holds (HTTP sessions, files); nothing by default."""
