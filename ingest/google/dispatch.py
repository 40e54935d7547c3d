"""How the Google connector talks: every request under the account's quota and in-flight
cap, retried in-process for rate limits (Retry-After) and 5xx (jittered backoff); batches
whose refused parts are retried alone; and a small pipeline that keeps a few batches in
flight while yielding their results in order (so cursors advance only over what is stored).
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar
from collections.abc import Callable, Iterable, Iterator

from ingest.errors import RateLimited, SourceError, TransientError

from ingest.retry import backoff, retrying

from .errors import GOOGLE_RETRY, translator
from .quota import GMAIL_COSTS, Quota
from .transport import BatchResult, Transport

M = TypeVar("M")
MakeRequest = Callable[[], Any]  # builds one googleapiclient HttpRequest

PART_ATTEMPTS = 6


class Dispatcher:
    def __init__(self, transport: Transport, quota: Quota, sleep: Callable[[float], object] = time.sleep):
        self.transport, self.quota, self.sleep = transport, quota, sleep
        self._executor: ThreadPoolExecutor | None = None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def call(self, api: str, method: str, make: MakeRequest, *, cursor_call: bool = False) -> dict[str, Any]:
        """One request under the quota, retried in-process for rate limits and 5xx."""
        units = GMAIL_COSTS.get(method, 5) if api == "gmail" else 1

        def once() -> dict[str, Any]:
            with self.quota.slot(api, units):
                return self.transport.execute(make())

        what = f"{api} {method}"
        return retrying(
            once,
            what=what,
            policy=GOOGLE_RETRY,
            translate=translator(cursor_call=cursor_call, what=what),
            sleep=self.sleep,
            on_rate_limited=lambda s: self.quota.penalise(api, s),
        )

    def batch(self, api: str, calls: dict[str, tuple[str, MakeRequest]]) -> dict[str, dict[str, Any] | None]:
        """Run calls (id -> (method, make-request)) as batches; a part refused for rate or a
        5xx is retried alone. Returns id -> body, or None when the item is gone (404)."""
        pending = dict(calls)
        done: dict[str, dict[str, Any] | None] = {}
        for attempt in range(PART_ATTEMPTS):
            if not pending:
                break
            methods = [method for method, _ in pending.values()]
            units = sum(GMAIL_COSTS.get(m, 5) for m in methods) if api == "gmail" else len(methods)

            def send(
                units: int = units, pending: dict[str, tuple[str, MakeRequest]] = pending
            ) -> dict[str, BatchResult]:
                with self.quota.slot(api, units):
                    return self.transport.run_batch(api, {rid: make() for rid, (_, make) in pending.items()})

            results = retrying(
                send,
                what=f"{api} batch",
                policy=GOOGLE_RETRY,
                translate=translator(what=f"{api} batch"),
                sleep=self.sleep,
                on_rate_limited=lambda s: self.quota.penalise(api, s),
            )
            retry_after = 0.0
            failed: dict[str, tuple[str, MakeRequest]] = {}
            last_error: SourceError | None = None
            for rid, call in pending.items():
                body, error = results.get(rid, (None, TransientError("batch part missing")))
                if error is None:
                    done[rid] = body
                elif isinstance(error, str):  # "gone": a 404
                    done[rid] = None
                elif isinstance(error, (RateLimited, TransientError)):
                    failed[rid] = call
                    last_error = error
                    if isinstance(error, RateLimited):
                        retry_after = max(retry_after, error.retry_after)
                else:
                    raise error
            pending = failed
            if pending:
                if attempt == PART_ATTEMPTS - 1 and last_error is not None:
                    raise last_error
                if retry_after:
                    self.quota.penalise(api, retry_after)
                self.sleep(retry_after + backoff(attempt, 0.1, 5.0))
        return done

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=max(1, self.quota.max_concurrent), thread_name_prefix="google-batch"
            )
        return self._executor

    def pipelined(self, jobs: Iterable[tuple[M, Callable[[], Any]]]) -> Iterator[tuple[M, Any]]:
        """Run jobs, (meta, callable) pairs drawn lazily from an iterator, a few at a time
        (the account's concurrency cap); yield (meta, result) in the jobs' order."""
        pending = iter(jobs)
        if self.quota.max_concurrent <= 1:
            for meta, job in pending:
                yield meta, job()
            return
        pool = self._pool()
        futures: deque[tuple[M, Future[Any]]] = deque()
        exhausted = False
        try:
            while True:
                while not exhausted and len(futures) < self.quota.max_concurrent:
                    try:
                        meta, job = next(pending)
                    except StopIteration:
                        exhausted = True
                        break
                    futures.append((meta, pool.submit(job)))
                if not futures:
                    return
                meta, future = futures.popleft()
                yield meta, future.result()
        finally:
            for _, future in futures:
                future.cancel()
