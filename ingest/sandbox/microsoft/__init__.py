"""A local Microsoft 365 (identity platform + Graph mail and calendar delta), over TLS."""

from .mailbox import Mailbox, graph_id
from .server import MicrosoftEmulator, start_microsoft_emulator

__all__ = ["MicrosoftEmulator", "Mailbox", "graph_id", "start_microsoft_emulator"]
