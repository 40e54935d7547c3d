"""The routes' handle on background work: the `Jobs` the app's lifespan bound to its broker.

def sync_now(account_id: AccountId, user: User, jobs: Queue): jobs.sync_now(account_id)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..jobs import Jobs


def get_jobs(request: Request) -> Jobs:
    return request.app.state.jobs


Queue = Annotated[Jobs, Depends(get_jobs)]
