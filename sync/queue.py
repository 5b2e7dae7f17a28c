"""The work queue: enqueue helpers, queued markers, the inbox's ready and taken sets and its hand-off
thread, on top of RQ. The only caller of enqueue; it imports no service: jobs are named by dotted path
(``sync.jobs``), which RQ resolves in the worker. docs/architecture.md says, piece by piece, why each
piece exists next to what RQ and redis-py give.

An enqueue that fails (Redis down) is logged and answered False: the work is already a durable row,
and the periodic sweep enqueues it again (design §2.1). Each enqueue leaves a short-lived marker in
Redis naming the job it enqueued for that work, so the sweep can tell "queued, wait for it" (RQ says
the job is queued or scheduled) from "lost" (Redis restarted, an enqueue failed, a worker took the job
and was killed) without scanning queues.

Stored inbox events are not one job each: their ids go into one Redis sorted set (the ready set,
oldest first) and ``inbox_drain_job`` takes them in batches. A webhook then costs one Redis round
trip instead of an RQ job (a hash, a queue push and a marker), and a burst of events costs a few
jobs instead of one fork per event. The drain flag (a queued marker) keeps at most one drain job
waiting; a drain that leaves events behind queues the next one before it works, so a backlog is
spread over every worker.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from datetime import timedelta
from functools import lru_cache
from queue import Empty, Queue

import django_rq
from django.conf import settings
from redis.exceptions import RedisError
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.utils import current_timestamp

from portal.redis import redis_connection

logger = logging.getLogger(__name__)
QUEUE = "default"
MARKER_TTL_SECONDS = 900  # longer than any sane queue backlog; a lost marker only costs a duplicate run
# A job in these states still waits for a worker. Once one takes it, it is "started" and the work is
# no longer the queue's: a run that stopped (its worker killed) is the sweep's to queue again.
WAITING = frozenset({JobStatus.QUEUED, JobStatus.SCHEDULED})
INBOX_READY_KEY = "portal:inbox:ready"  # sorted set: event id → event id (oldest first)
INBOX_TAKEN_KEY = "portal:inbox:taken"  # sorted set: event id → when a drain took it
DRAIN_MARKER = "inbox-drain"
JOBS = "sync.jobs"  # the job functions, by dotted path: importing them would import every service
BULK_QUEUE = "bulk"  # bulk runs' steps: workers read it after QUEUE, so events and the feed come first
BULK_JOBS = "sync.bulk.jobs"
CATALOG_JOBS = "sync.catalog.jobs"


def _marker(name: str) -> str:
    return f"portal:queued:{name}"


def _enqueue(job: str, *args, marker: str, delay: float | None = None, queue: str = QUEUE) -> bool:
    """Enqueue ``job(*args)`` (a dotted path) and point its marker at the new job, in one MULTI/EXEC
    round trip."""
    try:
        connection = redis_connection()
        # Callers enqueue after their own commit (transaction.on_commit), so django-rq must not defer
        # again: its deferral would run after this pipeline has been executed and lose the job.
        rq_queue = django_rq.get_queue(queue, connection=connection, commit_mode="auto")
        # No worker sees a job without its marker. (RQ may WATCH on the pipeline, which must come
        # before any other command, so the marker follows the job.)
        with connection.pipeline() as pipeline:
            if delay and delay > 0:
                enqueued = rq_queue.enqueue_in(timedelta(seconds=delay), job, *args, pipeline=pipeline)
            else:
                enqueued = rq_queue.enqueue(job, *args, pipeline=pipeline)
            pipeline.set(_marker(marker), enqueued.id, ex=int((delay or 0) + MARKER_TTL_SECONDS))
            pipeline.execute()
    except RedisError as exc:
        logger.warning("could not enqueue %s%s (%s); the sweep will retry", job, args, exc)
        return False
    return True


# Add the ids to the ready set and arm the drain flag, in one command: this runs in every webhook.
_SIGNAL = """
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i])
end
if redis.call('SET', KEYS[2], 1, 'NX', 'EX', ARGV[1]) then
  return 1
end
return 0
"""


@lru_cache(maxsize=8)
def _script(client, source: str):
    return client.register_script(source)


def inbox_events_signal(*, event_ids: list[int]) -> bool:
    """Hand stored events to the workers: one round trip, a second only when no drain job is waiting."""
    try:
        connection = redis_connection()
        armed = _script(connection, _SIGNAL)(
            keys=[INBOX_READY_KEY, _marker(DRAIN_MARKER)], args=[MARKER_TTL_SECONDS, *event_ids]
        )
    except RedisError as exc:
        logger.warning("could not hand inbox events %s to the workers (%s); the sweep will retry", event_ids[:3], exc)
        return False
    return inbox_drain_enqueue() if armed else True


class _Handoff:
    """Hands stored events' ids to the workers from one background thread per process.

    A webhook answers once its row is committed; telling the workers is a Redis round trip the
    request need not wait for, so the request only queues the id in memory and the thread sends
    whatever piled up meanwhile in one call. Under load that is one round trip for many webhooks,
    and each request is one blocking call shorter (in a threaded server, every blocking call is also
    a chance to lose the GIL for up to a switch interval). Ids still in memory when the process dies
    are not lost: their rows are pending, and the sweep hands pending rows over again
    (SYNC_SWEEP_AFTER_SECONDS). At a normal exit what is still queued is sent before the process
    ends; a batch the thread had already taken (lingering or mid-send) is left to the sweep.
    """

    MAX_BATCH = 500

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # threads do not survive a fork; queue locks may not either
        atexit.register(self.flush)

    def _reset(self) -> None:
        self._queue: Queue[int] = Queue()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def put(self, event_ids: list[int]) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="inbox-handoff", daemon=True)
                    self._thread.start()
        for event_id in event_ids:
            self._queue.put(event_id)

    def _take(self, first: int) -> list[int]:
        ids = [first]
        with contextlib.suppress(Empty):
            while len(ids) < self.MAX_BATCH:
                ids.append(self._queue.get_nowait())
        return ids

    def _send(self, ids: list[int]) -> None:
        try:
            inbox_events_signal(event_ids=ids)  # logs Redis trouble itself; the sweep covers it
        except Exception:  # the thread must outlive any surprise, or every later webhook would wait for the sweep
            logger.exception("inbox hand-off of %d event(s) failed; the sweep will hand them over", len(ids))
        finally:
            for _ in ids:
                self._queue.task_done()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            # Let the ids of concurrent requests gather before sending. While this thread is not
            # waiting in get(), a request's put() wakes nobody: waking it for every webhook cost a
            # context switch and a fight for the GIL per request.
            time.sleep(settings.INBOX_HANDOFF_LINGER_SECONDS)
            self._send(self._take(first))

    def flush(self) -> None:
        """Send what is queued now, in the caller's thread (at exit; the thread may be mid-send, which
        only repeats an idempotent ZADD)."""
        with contextlib.suppress(Empty):
            while True:
                self._send(self._take(self._queue.get_nowait()))

    def wait(self, timeout: float = 30.0) -> None:
        """Block until everything queued so far has been sent (tests); a stuck send raises, not hangs."""
        done = self._queue.all_tasks_done
        with done:
            if not done.wait_for(lambda: self._queue.unfinished_tasks == 0, timeout):
                raise TimeoutError(f"inbox hand-off: {self._queue.unfinished_tasks} id(s) not sent in {timeout}s")


_handoff = _Handoff()


def inbox_events_hand_off(*, event_ids: list[int]) -> None:
    """Hand stored events to the workers: in the background when INBOX_HANDOFF_THREAD is on (the web
    process), otherwise at once."""
    if settings.INBOX_HANDOFF_THREAD:
        _handoff.put(event_ids)
    else:
        inbox_events_signal(event_ids=event_ids)


def inbox_handoff_wait() -> None:
    _handoff.wait()


def inbox_drain_enqueue() -> bool:
    return _enqueue(f"{JOBS}.inbox_drain_job", marker=DRAIN_MARKER)


# Take a batch atomically: clear the drain flag, pop the oldest ids and note when they were taken, so
# the sweep can tell an event a live drain is working on from one whose drain died.
# Times are the Redis server's, so workers on hosts with skewed clocks agree on every lease.
_TAKE = """
redis.call('DEL', KEYS[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
local ids = {}
for i = 1, #popped, 2 do
  redis.call('ZADD', KEYS[2], now, popped[i])
  ids[#ids + 1] = popped[i]
end
return {ids, redis.call('ZCARD', KEYS[1])}
"""
# A drain renews an event's lease when it starts on it: the lease covers one event, not the batch.
_TOUCH = """
local clock = redis.call('TIME')
return redis.call('ZADD', KEYS[1], 'XX', tonumber(clock[1]) + tonumber(clock[2]) / 1000000, ARGV[1])
"""


def _server_time() -> float:
    seconds, microseconds = redis_connection().time()
    return seconds + microseconds / 1_000_000


def inbox_events_take(*, count: int) -> list[int]:
    """Up to ``count`` ready event ids, oldest first; queues the next drain when more are waiting.

    The drain flag is cleared in the same step as the take, so an event signalled from now on either
    is in this batch or arms a new drain: none is left without a job.
    """
    connection = redis_connection()
    taken, remaining = _script(connection, _TAKE)(
        keys=[INBOX_READY_KEY, INBOX_TAKEN_KEY, _marker(DRAIN_MARKER)], args=[count]
    )
    if remaining:
        inbox_events_signal(event_ids=[])
    return [int(member) for member in taken]


def inbox_event_touch(event_id: int) -> None:
    with contextlib.suppress(RedisError):
        _script(redis_connection(), _TOUCH)(keys=[INBOX_TAKEN_KEY], args=[event_id])


def inbox_events_done(event_ids: list[int]) -> None:
    with contextlib.suppress(RedisError):
        if event_ids:
            redis_connection().zrem(INBOX_TAKEN_KEY, *[str(event_id) for event_id in event_ids])


def inbox_events_waiting(event_ids: list[int], *, lease_seconds: float) -> set[int]:
    """Which of these events are handed over: ready, or taken by a drain less than a lease ago."""
    if not event_ids:
        return set()
    members = [str(event_id) for event_id in event_ids]
    with redis_connection().pipeline(transaction=False) as pipeline:
        pipeline.zmscore(INBOX_READY_KEY, members)
        pipeline.zmscore(INBOX_TAKEN_KEY, members)
        ready, taken = pipeline.execute()
    fresh = _server_time() - lease_seconds
    return {
        event_id
        for event_id, ready_score, taken_at in zip(event_ids, ready, taken, strict=True)
        if ready_score is not None or (taken_at is not None and taken_at > fresh)
    }


def inbox_taken_prune(*, lease_seconds: float) -> None:
    redis_connection().zremrangebyscore(INBOX_TAKEN_KEY, "-inf", _server_time() - lease_seconds)


def inbox_ready_count() -> int:
    return int(redis_connection().zcard(INBOX_READY_KEY))


def scheduled_jobs_rescue(*, overdue_seconds: float) -> int:
    """Enqueue scheduled jobs (back-offs, "not yet" waits) overdue by more than ``overdue_seconds``.

    A worker's RQ scheduler moves due jobs to the queue within a second. Jobs left overdue mean no
    scheduler runs: the one holding the lock was SIGKILLed (RQ keeps its lock about a minute) or died
    with a Redis outage, and the other workers try to start theirs only every
    RQ_MAINTENANCE_INTERVAL_SECONDS. RQ's own requeue takes a job out of the registry only if it is
    still there, so a scheduler waking at the same moment does not queue it a second time; a run
    twice would be harmless anyway (level-triggered, one writer per order). Times are this host's clock,
    as RQ's scheduler reads them. Returns how many moved.
    """
    registry = django_rq.get_queue(QUEUE, connection=redis_connection()).scheduled_job_registry
    moved = 0
    for job_id in registry.get_jobs_to_schedule(int(current_timestamp() - overdue_seconds)):
        try:
            registry.requeue(job_id)
        except (InvalidJobOperation, NoSuchJobError):  # moved meanwhile, or its hash is gone
            registry.remove(job_id)
            continue
        moved += 1
    if moved:
        logger.warning("%d scheduled job(s) were overdue with no RQ scheduler running: enqueued now", moved)
    return moved


def is_queued(marker: str) -> bool:
    """Whether the job last enqueued for ``marker``'s work still waits for a worker (RQ's own status).

    A job a worker has taken is "started", then "finished" or "failed": a worker killed before the
    run got anywhere leaves the work to the sweep at once, where a flag the job cleared when it
    began lasted its whole TTL.
    """
    connection = redis_connection()
    job_id = connection.get(_marker(marker))
    if job_id is None:
        return False
    try:
        return Job(job_id.decode(), connection=connection).get_status() in WAITING
    except InvalidJobOperation:  # the job's hash is gone: Redis lost it
        return False


def event_marker(event_id: int) -> str:
    return f"inbox:{event_id}"


def order_sync_marker(order_sync_id: int) -> str:
    return f"order-sync:{order_sync_id}"


# --- enqueue helpers ---------------------------------------------------------------------------------


def inbox_event_process_enqueue(*, event_id: int, delay: float) -> bool:
    """A retry of one event after ``delay`` seconds (new events go through ``inbox_events_signal``)."""
    return _enqueue(f"{JOBS}.inbox_event_process_job", event_id, marker=event_marker(event_id), delay=delay)


def order_sync_enqueue(*, order_sync_id: int, kind: str, delay: float | None = None) -> bool:
    """The job of an OrderSync's kind: status sync (ERP → VTEX) or order import (VTEX → ERP)."""
    job = {"status": f"{JOBS}.order_status_sync_job", "import": f"{JOBS}.order_import_job"}[kind]
    return _enqueue(job, order_sync_id, marker=order_sync_marker(order_sync_id), delay=delay)


def bulk_run_marker(run_id: int) -> str:
    return f"bulk-run:{run_id}"


def bulk_run_step_enqueue(*, run_id: int, delay: float | None = None) -> bool:
    """The next step of a bulk run, on the bulk queue."""
    return _enqueue(
        f"{BULK_JOBS}.bulk_run_step_job", run_id, marker=bulk_run_marker(run_id), delay=delay, queue=BULK_QUEUE
    )


def default_queue_waiting() -> bool:
    """Whether jobs wait in the default queue (events, the feed, order work): a bulk step gives way.
    Redis down: False, the step itself will meet the outage."""
    try:
        return django_rq.get_queue(QUEUE, connection=redis_connection()).count > 0
    except RedisError:
        return False


# --- the catalog flow (sync.catalog: stock and prices) ----------------------------------------------------


def catalog_push_marker(channel_id: int, topic: str) -> str:
    return f"catalog-push:{channel_id}:{topic}"


def _catalog_due_key(channel_id: int, topic: str) -> str:
    return f"portal:catalog:due:{channel_id}:{topic}"


def catalog_push_enqueue(*, channel_id: int, topic: str, delay: float = 0.0) -> bool:
    """The batch job of one channel and topic (``catalog_push_job``) in ``delay`` seconds, unless one already
    waits that runs no later: a burst of events for many articles costs one job, not one per event.

    The marker names the job last enqueued; beside it the time that job is due, so an item that becomes
    eligible sooner than the waiting job (a new event while the job waits out another item's back-off) gets a
    job of its own. Two jobs for one channel and topic are harmless: each takes only eligible items, claimed
    in the database. Redis down: False, and the sweep enqueues the items' job later (design §2.1).
    """
    marker = catalog_push_marker(channel_id, topic)
    due = time.time() + max(delay, 0.0)
    try:
        current = redis_connection().get(_catalog_due_key(channel_id, topic))
        if current is not None and float(current) <= due + 0.05 and is_queued(marker):
            return True
    except (RedisError, ValueError):
        pass  # enqueue below: a duplicate job costs less than a lost one
    if not _enqueue(f"{CATALOG_JOBS}.catalog_push_job", channel_id, topic, marker=marker, delay=delay):
        return False
    with contextlib.suppress(RedisError):
        redis_connection().set(_catalog_due_key(channel_id, topic), due, ex=int(max(delay, 0) + MARKER_TTL_SECONDS))
    return True


def catalog_push_queued(*, channel_id: int, topic: str) -> bool:
    """Whether a batch job of this channel and topic waits for a worker (the sweep leaves its items alone)."""
    return is_queued(catalog_push_marker(channel_id, topic))


def sku_mappings_match_enqueue(*, channel_code: str) -> bool:
    """Match every listed article of a channel with VTEX (the admin's and the command's whole-channel match)."""
    return _enqueue(
        f"{CATALOG_JOBS}.sku_mappings_match_job", channel_code, marker=f"catalog-match:{channel_code}", queue=BULK_QUEUE
    )
