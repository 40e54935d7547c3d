"""The synthetic world: a mailbox and calendar whose every tie has a known truth.

`generate_world(seed)` builds it; `write_mbox(world, path)` and `write_ics(world, path)` write
it as Google Takeout files. How truth is defined, and which module does what: see
`ingest.sandbox.world.records`.
"""

from .build import generate_world, user_aliases
from .files import write_ics, write_mbox
from .records import (
    ARCHETYPES,
    BODY_MARKER,
    DEFAULT_AS_OF,
    FLAGS,
    KINDS,
    NOISE_KINDS,
    STRENGTH_SCALE,
    UTC,
    WINDOW_DAYS,
    WORK_DOMAIN,
    TrueTie,
    World,
    WorldEvent,
    WorldMessage,
    WorldPerson,
    exchange_dn,
    month_starts,
    occurrence_graph_id,
    strength_from_rate,
)

__all__ = [
    "generate_world",
    "user_aliases",
    "write_mbox",
    "write_ics",
    "World",
    "WorldPerson",
    "WorldMessage",
    "WorldEvent",
    "TrueTie",
    "strength_from_rate",
    "exchange_dn",
    "month_starts",
    "occurrence_graph_id",
    "DEFAULT_AS_OF",
    "BODY_MARKER",
    "WORK_DOMAIN",
    "KINDS",
    "NOISE_KINDS",
    "ARCHETYPES",
    "FLAGS",
    "STRENGTH_SCALE",
    "UTC",
    "WINDOW_DAYS",
]
