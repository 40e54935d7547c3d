"""Structured logs: one JSON object per line, and no token ever in one.

Tokens never reach a log call (the access log records the route path, not headers, not
the query string), and the formatter also masks anything shaped like a Kith token, so a
mistake elsewhere cannot leak one either.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone

TOKEN_SHAPE = re.compile(r"kith_[A-Za-z0-9_\-]{8,}")
BEARER_SHAPE = re.compile(r"(?i)(bearer\s+)[^\s\"']+")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    return BEARER_SHAPE.sub(r"\1***", TOKEN_SHAPE.sub("kith_***", text))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str | int | float | bool | None] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in ("color_message",):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # The app writes its own access log (route path, no query string, no headers).
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "kith": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
