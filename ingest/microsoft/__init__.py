"""Microsoft 365 (Outlook mail and calendar through Graph delta queries)."""

from .calendar import parse_event
from .connector import MicrosoftConnector
from .graph import GraphClient, make_session
from .mail import MESSAGE_SELECT, parse_message
from .throttle import LocalThrottle, RedisThrottle, Throttle

__all__ = [
    "GraphClient",
    "LocalThrottle",
    "MESSAGE_SELECT",
    "MicrosoftConnector",
    "RedisThrottle",
    "Throttle",
    "make_session",
    "parse_event",
    "parse_message",
]
