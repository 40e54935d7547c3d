"""The mbox importer: Google Takeout archives and any mboxo/mboxrd file, headers only.

split.py      the file -> RawMessage (offsets and header blocks; bodies skipped)
headers.py    a header block -> Interaction, or Quarantined with the reason
connector.py  MboxConnector: pages, byte-offset cursors, copies of one message merged
"""

from .connector import MboxConnector
from .headers import KEPT_HEADERS, message_item, parse_headers
from .split import RawMessage, split_messages

__all__ = ["KEPT_HEADERS", "MboxConnector", "RawMessage", "message_item", "parse_headers", "split_messages"]
