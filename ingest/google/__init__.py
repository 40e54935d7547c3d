"""Google: Gmail and Calendar metadata through the Gmail and Calendar REST APIs."""

from .calendar import parse_event
from .connector import GoogleConnector
from .gmail import METADATA_HEADERS, parse_message
from .quota import GMAIL_COSTS, Quota

SCOPES = (
    "https://www.googleapis.com/auth/gmail.metadata",
    "https://www.googleapis.com/auth/calendar.events.readonly",
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
)

__all__ = ["GoogleConnector", "Quota", "parse_message", "parse_event", "METADATA_HEADERS", "GMAIL_COSTS", "SCOPES"]
