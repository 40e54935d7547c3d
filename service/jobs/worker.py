"""What the dramatiq CLI loads in each worker process: `dramatiq service.jobs.worker:setup`.

`kith worker` runs exactly that. A worker process is an entry point like any other: `setup`
builds the settings from the environment (embedded Redis and PostgreSQL under KITH_HOME when
KITH_REDIS_URL / KITH_DATABASE_URL are unset), makes the broker, binds the actors to it and
installs the per-process context the actors read. Importing this module does none of that;
dramatiq calls `setup` in each child process, after the fork.
"""

from __future__ import annotations

import dramatiq


def setup() -> None:
    from .. import context, embedded
    from ..config import load_settings
    from .actors import Jobs
    from .broker import make_broker

    settings = embedded.resolve(load_settings())
    context.install(settings)
    broker = make_broker(settings.broker_url())
    Jobs(broker)
    # The dramatiq CLI takes the broker a callable sets up from dramatiq's global slot; in a
    # worker process this is the one broker there is.
    dramatiq.set_broker(broker)
