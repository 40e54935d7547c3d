"""A local emulator of Google's OAuth endpoints, Gmail and Calendar (see server.py)."""

from .limits import GMAIL_COSTS, Faults
from .server import GoogleEmulator, seed_from_world, start_google_emulator

__all__ = ["GoogleEmulator", "start_google_emulator", "seed_from_world", "Faults", "GMAIL_COSTS"]
