"""`kith` commands that run Kith rather than ask it: demo, serve, worker, scheduler,
migrate, rotate-key. Registered on the app in service.cli."""

from __future__ import annotations

import os
import sys

import typer

from ingest.errors import KithError

from .runtime import Runtime, err, out


def demo(
    port: int = typer.Option(8000, help="Port suggested for `kith serve`."),
    seed: int = typer.Option(7, help="Seed of the synthetic world."),
):
    """The main job on embedded defaults: a synthetic year in, ties to deepen out."""
    from ..demo import run_demo

    run_demo(Runtime(), out, err, seed=seed, port=port)


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on (1-65535).", min=1, max=65535),
):
    """Run the JSON API and the dashboard (the embedded servers stay up while it runs)."""
    import uvicorn

    from ..api.app import create_app
    from ..api.logs import LOG_CONFIG

    check_port(host, port)
    rt = Runtime()
    rt.db.close()
    # JSON log lines; the access log names route templates, never paths (they hold addresses).
    uvicorn.run(
        create_app(rt.settings),
        host=host,
        port=port,
        log_config=LOG_CONFIG,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


def check_port(host: str, port: int) -> None:
    """Refuse at once, in words, when something already listens on host:port."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise KithError(f"cannot listen on {host}: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise KithError(
                    f"port {port} on {host} is busy: another program (perhaps another `kith serve`) "
                    f"listens there; stop it or pass --port with a free port"
                ) from None
            raise KithError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def stop():
    """Stop the embedded PostgreSQL and Redis under KITH_HOME (even while a command uses them)."""
    from .. import embedded
    from ..config import load_settings

    settings = load_settings()
    home = settings.home_dir()
    stopped = embedded.stop_all(home)
    err.print(f"stopped {' and '.join(stopped)} under {home}" if stopped else f"nothing was running under {home}")


def worker(
    processes: int = typer.Option(1, help="Worker processes."),
    threads: int = typer.Option(4, help="Threads per process."),
    queues: list[str] | None = typer.Option(None, "--queue", help="Only these queues."),
):
    """Run dramatiq workers for syncs, imports, scoring and email."""
    import dramatiq.cli

    rt = Runtime()
    # Child processes read their settings from the environment: hand them resolved URLs.
    os.environ["KITH_DATABASE_URL"] = rt.settings.db_url()
    os.environ["KITH_REDIS_URL"] = rt.settings.broker_url()
    # Prefetch no more than the threads can start: a worker must not sit on long syncs
    # that another worker could run now (dramatiq's default is twice the threads).
    os.environ.setdefault("dramatiq_queue_prefetch", str(threads))
    # Each thread's sync holds a connection for its lock and takes another to write: the
    # children size their pools from this (service.context.pool_size).
    os.environ["KITH_WORKER_THREADS"] = str(threads)
    rt.db.close()
    args = ["service.jobs.worker:setup", "--processes", str(processes), "--threads", str(threads)]
    if queues:
        args += ["--queues", *queues]
    # dramatiq.cli.main takes parsed arguments (it parses sys.argv only when given none).
    sys.exit(dramatiq.cli.main(dramatiq.cli.make_argument_parser().parse_args(args)))


def scheduler():
    """Run the weekly schedule (digests, nightly syncs and scoring)."""
    from ..jobs.scheduler import run

    rt = Runtime()
    run(rt.settings)


def migrate():
    """Apply database migrations (also done by every command)."""
    rt = Runtime()
    from ..db import current_revision

    err.print(f"database at revision {current_revision(rt.settings.db_url())}")


def rotate_key():
    """Re-encrypt stored credentials under the first key of KITH_SECRET_KEY ("new,old")."""
    from ..providers.credentials import rotate_all

    rt = Runtime()
    with rt.db.tx() as conn:
        count = rotate_all(conn, rt.settings)
    err.print(f"re-encrypted {count} credentials")
