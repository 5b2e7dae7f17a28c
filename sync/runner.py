"""Running the work for one order, whatever its direction: lock, generations, outcomes, retries.

Design §2: one writer per order (Redis lock), bursts collapse (a generation counter: events that
arrive while a run is under way make it run once more, not once per event), retryable errors back
off with jitter and honour Retry-After, "not yet" waits are bounded, everything lands on the timeline.
"""

from __future__ import annotations

import logging
import os
import random
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError

from mappings.models import SalesChannel
from sync.clients.errors import AuthError, RemoteError, RetryableError
from sync.locks import LockLost, order_lock
from sync.models import OrderSync, TimelineEntry
from sync.outcomes import Conflict, Done, Failed, NotYet, Outcome, Parked, Skipped
from sync.pending import pending_forget_unapplied
from sync.queue import order_sync_enqueue
from sync.remotes import NotConfigured
from sync.timeline import TimelineRecorder, timeline_add
from sync.transforms import UnmatchedLineError, erp_refs_with

logger = logging.getLogger(__name__)

Work = Callable[[OrderSync, TimelineRecorder, object], Outcome]


# --- requesting work ------------------------------------------------------------------------------------


def order_sync_request(
    *,
    kind: str,
    channel: SalesChannel,
    key: str,
    erp_order_id: str = "",
    erp_order_number: str = "",
    vtex_order_id: str = "",
    erp_dissolved: bool = False,
    erp_document_id: str = "",
    erp_shipment_id: str = "",
    enqueue: bool = True,
) -> OrderSync:
    """Ask for the order to be brought up to date. Many requests while one is pending make one run.

    ``erp_document_id`` / ``erp_shipment_id``: a follow-up document or shipment the event named, kept
    for every later run (``OrderSync.erp_refs``). ``enqueue=False``: the caller runs it at once itself
    (a bulk run, in its own lane); the sweep still finds it if that caller dies first.
    """
    with transaction.atomic():
        sync, _ = OrderSync.objects.select_for_update().get_or_create(
            kind=kind, channel=channel, key=key, defaults={"status": OrderSync.Status.DONE}
        )
        was_queued = sync.status in (OrderSync.Status.PENDING, OrderSync.Status.RUNNING)
        sync.generation += 1
        sync.requested_at = timezone.now()
        sync.erp_order_id = erp_order_id or sync.erp_order_id
        sync.erp_order_number = erp_order_number or sync.erp_order_number
        sync.vtex_order_id = vtex_order_id or sync.vtex_order_id
        sync.erp_dissolved = sync.erp_dissolved or erp_dissolved
        sync.erp_refs = erp_refs_with(sync.erp_refs, documents=erp_document_id, shipments=erp_shipment_id)
        if sync.status != OrderSync.Status.RUNNING:
            sync.status = OrderSync.Status.PENDING
            sync.waits = 0  # new facts: waiting starts over
        sync.save()
        if enqueue and not was_queued:
            transaction.on_commit(lambda: order_sync_enqueue(order_sync_id=sync.pk, kind=sync.kind))
    return sync


def order_sync_retry(*, order_sync: OrderSync, actor: str) -> OrderSync:
    """An operator's retry: the same request a new event makes, noted on the timeline."""
    timeline_add(order_sync=order_sync, kind=TimelineEntry.Kind.OPERATOR, title=f"Retry requested by {actor}")
    with transaction.atomic():
        current = OrderSync.objects.select_for_update().get(pk=order_sync.pk)
        changes = {"retries": 0, "waits": 0}
        if current.status == OrderSync.Status.CONFLICT:
            # The conflict asked a person to check: a cancel or removal VTEX never applied, or an ERP create
            # with no clear answer, may now be sent again. Retrying work that is only waiting or failed
            # keeps them, so the retry still looks for them first instead of sending them twice.
            changes.update(
                vtex_pending=pending_forget_unapplied(vtex_pending=current.vtex_pending), erp_create_sent_at=None
            )
        OrderSync.objects.filter(pk=order_sync.pk).update(**changes)
    return order_sync_request(kind=order_sync.kind, channel=order_sync.channel, key=order_sync.key)


def order_syncs_release_parked(*, channel_id: int, needs_mapping: str) -> int:
    """A mapping was saved: every order parked for it runs again."""
    released = 0
    for sync in OrderSync.objects.filter(
        channel_id=channel_id, status=OrderSync.Status.PARKED, needs_mapping=needs_mapping
    ).select_related("channel"):
        timeline_add(
            order_sync=sync, kind=TimelineEntry.Kind.OPERATOR, title=f"Mapping {needs_mapping} saved: running again"
        )
        order_sync_request(kind=sync.kind, channel=sync.channel, key=sync.key)
        released += 1
    return released


# --- running ------------------------------------------------------------------------------------------------


def backoff_seconds(retries: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, capped, and never sooner than the remote's Retry-After."""
    ceiling = min(settings.SYNC_RETRY_MAX_SECONDS, settings.SYNC_RETRY_BASE_SECONDS * (2 ** max(retries - 1, 0)))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not cryptography
    return max(delay, retry_after or 0.0)


class Try(StrEnum):
    """The two kinds of trying again, each bounded by its own settings."""

    RETRY = "retry"  # after a temporary error: exponential backoff, at most SYNC_MAX_RETRIES times
    WAIT = "wait"  # the remote said "not yet": SYNC_NOT_YET_DELAY_SECONDS apart, at most SYNC_NOT_YET_MAX_WAITS times


@dataclass(frozen=True)
class NextTry:
    """The policy's answer: try again in ``delay`` seconds, or give up (``delay`` None) saying ``message``."""

    count: int  # tries of this kind so far, this one included: what the counter becomes
    limit: int
    delay: float | None
    message: str

    @property
    def gave_up(self) -> bool:
        return self.delay is None


def next_try(*, kind: Try, count: int, reason: str, retry_after: float | None = None) -> NextTry:
    """The one bounded retry and wait policy of the order runs and the inbox (design §2: retries back
    off and honour Retry-After, "not yet" waits are bounded, and running out is a visible failure).
    ``count``: tries of ``kind`` made so far; ``reason``: the error or the remote's "not yet"."""
    count += 1
    if kind == Try.RETRY:
        limit, delay, tries = settings.SYNC_MAX_RETRIES, backoff_seconds(count, retry_after), "retries"
    else:
        limit, delay, tries = settings.SYNC_NOT_YET_MAX_WAITS, settings.SYNC_NOT_YET_DELAY_SECONDS, "waits"
    if count > limit:
        return NextTry(count, limit, None, f"Gave up after {count - 1} {tries}: {reason}")
    return NextTry(count, limit, delay, reason)


def order_sync_run(*, order_sync_id: int, work: Work, raise_waits: bool = False) -> None:
    """Run ``work`` for one order under its lock and record how it ended.

    ``raise_waits`` (a bulk run): after the order is handled as always (a retry scheduled, a failure
    recorded), a remote's "wait" (``RetryableError``) or refused credentials (``AuthError``) is raised
    too, so that the caller waits, or stops, as a whole instead of going on to the next order.
    """
    with order_lock(f"order-sync:{order_sync_id}") as lock:
        if lock is None:
            # Another worker runs this order; it checks the generation when it finishes and runs again.
            return
        sync = OrderSync.objects.select_related("channel").filter(pk=order_sync_id).first()
        if sync is None or sync.status not in (
            OrderSync.Status.PENDING,
            OrderSync.Status.WAITING,
            OrderSync.Status.RUNNING,
        ):
            return
        generation = sync.generation
        marketplace_status_before = sync.marketplace_status_sent
        OrderSync.objects.filter(pk=sync.pk).update(status=OrderSync.Status.RUNNING, started_at=timezone.now())
        sync.status = OrderSync.Status.RUNNING
        recorder = _with_fault_point(TimelineRecorder(sync))
        timeline_add(order_sync=sync, kind=TimelineEntry.Kind.ATTEMPT, title=f"Sync started (request {generation})")
        try:
            outcome = work(sync, recorder, lock)
        except RetryableError as exc:
            _retry_later(sync, generation, exc, marketplace_status_before=marketplace_status_before)
            if raise_waits:
                raise
            return
        except LockLost as exc:
            # Stopped before a step that must not happen twice. The order stays RUNNING: whoever took
            # the lock finishes it, else the sweep queues it again.
            timeline_add(
                order_sync=sync, kind=TimelineEntry.Kind.PROBLEM, title="Run stopped: order lock lost", detail=str(exc)
            )
            return
        except RedisError as exc:
            # Redis (the limiter, the lock) went away in the middle: nothing about the order failed, and
            # a retry could not be queued. It stays RUNNING; the sweep queues it again once Redis is
            # back and the lock's lease has run out, and the next run reads what VTEX shows by then.
            timeline_add(
                order_sync=sync,
                kind=TimelineEntry.Kind.PROBLEM,
                title="Run stopped: Redis unavailable",
                detail=str(exc),
            )
            return
        except (RemoteError, UnmatchedLineError, NotConfigured) as exc:  # rejected, unreadable, not sent
            _finish(sync, generation, Failed(str(exc)), marketplace_status_before=marketplace_status_before)
            if raise_waits and isinstance(exc, AuthError):
                raise
            return
        except Exception as exc:  # a bug: visible on the order, not silent
            logger.exception("order sync %s crashed", sync.pk)
            outcome = Failed(f"Unexpected error: {type(exc).__name__}: {exc}")
        _finish(sync, generation, outcome, marketplace_status_before=marketplace_status_before)


def _with_fault_point(recorder: TimelineRecorder):
    """Test-only (docs/testing.md, fault matrix): with ``PORTAL_FAULT_KILL_AFTER`` set to a regular
    expression, the worker is SIGKILLed (with its RQ scheduler and this job's process) as soon as a
    remote call whose "METHOD path" matches it has been answered 2xx, before the portal records
    anything of it: the one moment no sandbox fault can reach. Unset, as everywhere but those tests,
    the recorder is returned as it is."""
    pattern = os.environ.get("PORTAL_FAULT_KILL_AFTER")
    if not pattern:
        return recorder

    def record(call) -> None:
        if call.status and 200 <= call.status < 300 and re.search(pattern, f"{call.method} {call.path}"):
            logger.warning("PORTAL_FAULT_KILL_AFTER: killing the worker after %s %s", call.method, call.path)
            # RQ runs each job in a forked process of its own process group; the worker and its
            # scheduler are the parent's group.
            os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGKILL)
        recorder(call)

    return record


@dataclass(frozen=True)
class _Ending:
    """What an outcome makes of the order: its status, timeline entry, message and next try."""

    status: str
    title: str
    message: str = ""
    needs_mapping: str = ""
    delay: float | None = None
    waits: int = 0  # "not yet" waits in a row; anything else starts them over


def _ending(outcome: Outcome, *, waits: int) -> _Ending:
    match outcome:
        case Done(summary):
            return _Ending(OrderSync.Status.DONE, summary)
        case Skipped(reason):
            return _Ending(OrderSync.Status.SKIPPED, f"Skipped: {reason}", reason)
        case Parked(needs_mapping, message):
            return _Ending(OrderSync.Status.PARKED, f"Needs mapping: {message}", message, needs_mapping=needs_mapping)
        case Conflict(message):
            return _Ending(OrderSync.Status.CONFLICT, f"Conflict: {message}", message)
        case NotYet(message):
            wait = next_try(kind=Try.WAIT, count=waits, reason=message)
            if wait.gave_up:
                return _Ending(OrderSync.Status.FAILED, wait.message, wait.message, waits=wait.count)
            title = f"Not yet ({wait.count}/{wait.limit}): {message}; next try in {wait.delay:.0f}s"
            return _Ending(OrderSync.Status.WAITING, title, message, delay=wait.delay, waits=wait.count)
    return _Ending(OrderSync.Status.FAILED, f"Failed: {outcome.message}", outcome.message)


def _finish(sync: OrderSync, generation: int, outcome: Outcome, *, marketplace_status_before: str = "") -> None:
    ending = _ending(outcome, waits=sync.waits)
    status, delay = ending.status, ending.delay
    fine = status in (OrderSync.Status.DONE, OrderSync.Status.SKIPPED)
    kind = TimelineEntry.Kind.ATTEMPT if fine else TimelineEntry.Kind.PROBLEM
    timeline_add(order_sync=sync, kind=kind, title=ending.title, detail=ending.message)
    now = timezone.now()
    with transaction.atomic():
        current = OrderSync.objects.select_for_update().get(pk=sync.pk)
        rerun = current.generation > generation and status not in (OrderSync.Status.PARKED,)
        current.done_generation = generation
        current.finished_at = now
        current.message = ending.message
        current.needs_mapping = ending.needs_mapping
        current.waits = ending.waits
        _learnt(current, run=sync, marketplace_status_before=marketplace_status_before)
        if rerun:
            # Events arrived during the run: one more run picks them all up.
            current.status, delay = OrderSync.Status.PENDING, None
        else:
            current.status = status
            if status != OrderSync.Status.WAITING:
                current.retries = 0
        current.next_attempt_at = now + timedelta(seconds=delay) if delay else None
        current.save()
        if rerun or delay:
            transaction.on_commit(lambda: order_sync_enqueue(order_sync_id=current.pk, kind=current.kind, delay=delay))


def _learnt(current: OrderSync, *, run: OrderSync, marketplace_status_before: str) -> None:
    """What the run learnt about the order, onto the row as it is now."""
    current.vtex_order_id = run.vtex_order_id or current.vtex_order_id
    current.erp_order_number = run.erp_order_number or current.erp_order_number
    current.order_link_id = run.order_link_id or current.order_link_id
    if run.marketplace_status_sent != marketplace_status_before:
        # Only what this run sent: a "send it again" that VTEX's answer set meanwhile
        # (order_sync_defer) must not be undone by the run's stale copy.
        current.marketplace_status_sent = run.marketplace_status_sent


def _retry_later(
    sync: OrderSync, generation: int, error: RetryableError, *, marketplace_status_before: str = ""
) -> None:
    retry = next_try(kind=Try.RETRY, count=sync.retries, reason=str(error), retry_after=error.retry_after)
    if retry.gave_up:
        _finish(sync, generation, Failed(retry.message), marketplace_status_before=marketplace_status_before)
        return
    delay = retry.delay
    timeline_add(
        order_sync=sync,
        kind=TimelineEntry.Kind.PROBLEM,
        title=f"Temporary error, retry {retry.count}/{retry.limit} in {delay:.1f}s",
        detail=str(error),
    )
    now = timezone.now()
    OrderSync.objects.filter(pk=sync.pk).update(
        status=OrderSync.Status.WAITING,
        retries=F("retries") + 1,
        message=str(error),
        finished_at=now,
        next_attempt_at=now + timedelta(seconds=delay),
        vtex_order_id=sync.vtex_order_id,
        order_link=sync.order_link_id,
    )
    order_sync_enqueue(order_sync_id=sync.pk, kind=sync.kind, delay=delay)


def order_sync_defer(*, order_sync: OrderSync, message: str, marketplace_status_sent: str | None = None) -> None:
    """The remote said "not yet" after the run ended (an asynchronous answer): run again later, bounded."""
    with transaction.atomic():
        current = OrderSync.objects.select_for_update().get(pk=order_sync.pk)
        wait = next_try(kind=Try.WAIT, count=current.waits, reason=message)
        current.waits = wait.count
        if marketplace_status_sent is not None:
            current.marketplace_status_sent = marketplace_status_sent
        current.status = OrderSync.Status.FAILED if wait.gave_up else OrderSync.Status.WAITING
        current.message = wait.message
        if not wait.gave_up:
            current.next_attempt_at = timezone.now() + timedelta(seconds=wait.delay)
        current.save()
        timeline_add(
            order_sync=current,
            kind=TimelineEntry.Kind.PROBLEM,
            title=wait.message if wait.gave_up else f"Not yet: {message}; next try in {wait.delay:.0f}s",
        )
        if not wait.gave_up:
            transaction.on_commit(
                lambda: order_sync_enqueue(order_sync_id=current.pk, kind=current.kind, delay=wait.delay)
            )
