"""Ties: the one owner of a tie's shape and of the queries that read it.

The API (service/api/ties.py, routes only), the dashboard, the digest and the CLI all get
ties from here, never from each other:

    shape.py      the tie's fields, declared once: the Python dict and the SQL that renders
                  it from a snapshot row are both generated from that one list
    scoring.py    interactions -> analytics.score_ties -> tie dicts, kept as a snapshot
    snapshots.py  which snapshot to read, and its ties whole (CLI, demo, dashboard chart)
    pages.py      a filtered, sorted page of a snapshot rendered by PostgreSQL (the hot path
                  of GET /v1/ties), or of computed ties in Python, with the same cursors
    cursor.py     the opaque keyset cursor those pages hand out
    detail.py     one tie in depth: the tie, its weekly timeline, its score history
    feedback.py   the user's word on a tie, and the latest word scoring acts on
    as_of.py      `as_of` -> one UTC datetime, with its bounds, for every surface

Modules are imported by name (`from service.ties import pages`); this package re-exports
nothing.
"""
