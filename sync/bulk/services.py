"""Starting, stepping, pausing, resuming and cancelling bulk runs: what the admin, the CLI and the job call.

A run is worked on by step jobs on the bulk queue (``sync.queue.bulk_run_step_enqueue``): each step
holds the run's lock, works for at most BULK_STEP_SECONDS in the bulk lane (``sync.remotes.remote_lane``),
records every item with the run's counts and checkpoint in one transaction, and queues the next step.
A worker killed mid-step, or Redis restarted, loses at most the item in hand, which runs again: every
kind is level-triggered or exactly-once (the services it calls). The sweep resumes a run whose steps
stopped (``bulk_runs_sweep``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from mappings import selectors
from mappings.models import SalesChannel, SyncType
from sync.bulk.kinds import (
    MAX_IDS,
    BulkKind,
    Item,
    ItemResult,
    Preview,
    Scope,
    ScopeInvalid,
    StepContext,
    day_range,
)
from sync.bulk.models import BulkRun, BulkRunItem
from sync.bulk.registry import KINDS
from sync.clients.errors import AuthError, RemoteError, RetryableError
from sync.locks import LockLost, lock_confirm, order_lock
from sync.queue import bulk_run_marker, bulk_run_step_enqueue, default_queue_waiting, is_queued
from sync.remotes import NotConfigured, remote_lane

logger = logging.getLogger(__name__)
LANE = "bulk"
BUSY_RETRY_SECONDS = 2.0  # a step that found another one still working comes back after this
GIVE_WAY_AFTER_SECONDS = 5.0  # a step works at least this long (or BULK_STEP_SECONDS) before giving way
COUNTS = {
    BulkRunItem.Outcome.CHANGED: "changed",
    BulkRunItem.Outcome.UNCHANGED: "unchanged",
    BulkRunItem.Outcome.FAILED: "failed",
    BulkRunItem.Outcome.SKIPPED: "skipped",
    BulkRunItem.Outcome.DEFERRED: "deferred",
}


class BulkRunRefused(Exception):
    """The run can not start or change state now; the message says why (a run of that kind is active)."""


def bulk_kind(kind: str) -> BulkKind:
    try:
        return KINDS[kind]
    except KeyError:
        raise ScopeInvalid(f"unknown kind of bulk run: {kind!r} (known: {', '.join(KINDS)})") from None


# --- starting ------------------------------------------------------------------------------------------------


def bulk_run_preview(*, channel: SalesChannel, kind: str, scope: Mapping[str, Any]) -> Preview:
    """How many items a run would touch (the confirmation page, the CLI): reads, never writes."""
    handler = bulk_kind(kind)
    return handler.preview(channel=channel, scope=handler.scope_clean(scope))


def bulk_run_start(
    *, channel: SalesChannel, kind: str, scope: Mapping[str, Any], dry_run: bool, started_by: str
) -> BulkRun:
    """Store the run, then queue its first step. Refused while a run of the same kind is active on the
    channel (a database constraint, so two admins clicking at once still get one run)."""
    handler = bulk_kind(kind)
    checked = handler.scope_clean(scope)
    active = BulkRun.objects.filter(channel=channel, kind=kind, state__in=BulkRun.ACTIVE).first()
    if active is not None:
        raise BulkRunRefused(f"run #{active.pk} of this kind is {active.get_state_display().lower()} on {channel.code}")
    try:
        with transaction.atomic():
            run = BulkRun.objects.create(
                channel=channel, kind=kind, scope=checked.as_json(), dry_run=dry_run, started_by=started_by[:150]
            )
    except IntegrityError:
        raise BulkRunRefused(f"a run of this kind was just started on {channel.code}") from None
    transaction.on_commit(lambda: bulk_run_step_enqueue(run_id=run.pk))
    logger.info("bulk run %s started by %s: %s", run.pk, started_by, checked.describe())
    return run


def bulk_run_pause(*, run: BulkRun) -> BulkRun:
    """Stop after the item in hand; the checkpoint stays, ``bulk_run_resume`` goes on from it."""
    return _move(run, frm=(BulkRun.State.QUEUED, BulkRun.State.RUNNING), to=BulkRun.State.PAUSED)


def bulk_run_resume(*, run: BulkRun) -> BulkRun:
    run = _move(run, frm=(BulkRun.State.PAUSED,), to=BulkRun.State.RUNNING)
    transaction.on_commit(lambda: bulk_run_step_enqueue(run_id=run.pk))
    return run


def bulk_run_cancel(*, run: BulkRun) -> BulkRun:
    """Stop for good after the item in hand; what was done stays done."""
    return _move(run, frm=BulkRun.ACTIVE, to=BulkRun.State.CANCELLED, finished=True)


def _move(run: BulkRun, *, frm: tuple, to: str, finished: bool = False) -> BulkRun:
    changes: dict[str, Any] = {"state": to}
    if finished:
        changes["finished_at"] = timezone.now()
    if not BulkRun.objects.filter(pk=run.pk, state__in=frm).update(**changes):
        run.refresh_from_db(fields=["state"])
        raise BulkRunRefused(f"run #{run.pk} is {run.get_state_display().lower()}")
    run.refresh_from_db()
    return run


def bulk_run_repairs_start(*, run: BulkRun, items: list[BulkRunItem], actor: str) -> BulkRun:
    """Repair many orders of a reconciliation at once: a real reconciliation of just those orders, so the
    repairs run in the bulk lane with a run's progress, not as a burst of jobs ahead of the webhooks.
    The items are marked as repaired (asked for) when the run is stored."""
    links = [item.order_link for item in items if item.order_link is not None]
    if len(links) > MAX_IDS:
        raise BulkRunRefused(
            f"{len(links)} orders are more than one run takes ({MAX_IDS}): start a real reconciliation of the range"
        )
    with transaction.atomic():
        repair = bulk_run_start(
            channel=run.channel,
            kind=BulkRun.Kind.RECONCILIATION,
            scope={"ids": [link.vtex_order_id for link in links]},
            dry_run=False,
            started_by=actor,
        )
        BulkRunItem.objects.filter(pk__in=[item.pk for item in items]).update(repaired_at=timezone.now())
    return repair


# --- stepping ---------------------------------------------------------------------------------------------------


def bulk_run_step(*, run_id: int) -> None:
    """Work on one run for up to BULK_STEP_SECONDS, then hand the rest to the next step.

    1. Lock: one step per run at a time; a run no longer queued or running is left alone.
    2. Start: a queued run becomes running; its total is counted once.
    3. Items: read the kind's pages from the checkpoint; each item is processed in the bulk lane, and
       its result, the counts and the checkpoint are written in one transaction. The state is read
       again before each item, so pause and cancel take effect at once.
    4. Hand on: out of time, the next step is queued; the remote said wait (a rate limit, an outage),
       it is queued for after the wait, the checkpoint unchanged; a remote refusing the listing itself,
       the run failed with the reason.
    5. End: no page left, the run is finished.
    """
    with order_lock(bulk_run_marker(run_id)) as lock:  # 1. Lock
        if lock is None:
            # Another step still works (one that was told to pause and is finishing its item, say): come
            # back shortly rather than leave a resumed run to the sweep, unless a step is queued already.
            if not is_queued(bulk_run_marker(run_id)):
                bulk_run_step_enqueue(run_id=run_id, delay=BUSY_RETRY_SECONDS)
            return
        run = BulkRun.objects.select_related("channel").filter(pk=run_id).first()
        if run is None or run.state not in (BulkRun.State.QUEUED, BulkRun.State.RUNNING):
            return
        handler = KINDS[run.kind]
        context = StepContext()
        try:
            with remote_lane(LANE):
                run = _started(run)  # 2. Start
                now = time.monotonic()
                pace = _Pace(deadline=now + settings.BULK_STEP_SECONDS, give_way_after=now + GIVE_WAY_AFTER_SECONDS)
                finished = _work(run, handler, context, lock=lock, pace=pace)
        except RetryableError as exc:  # 4. Hand on, later
            delay = exc.retry_after or settings.SYNC_RETRY_BASE_SECONDS
            logger.info("bulk run %s waits %.1fs: %s", run.pk, delay, exc)
            _beat(run)  # alive, only waiting: not the sweep's
            bulk_run_step_enqueue(run_id=run.pk, delay=delay)
            return
        except LockLost:
            return  # another step owns the run now (Redis lost the lock): it goes on from the checkpoint
        except (RemoteError, NotConfigured, ScopeInvalid, ValueError) as exc:
            _end(run, BulkRun.State.FAILED, f"{type(exc).__name__}: {exc}")
            return
        except Exception as exc:  # a bug: the run stops visibly instead of being resumed into it forever
            logger.exception("bulk run %s crashed", run.pk)
            _end(run, BulkRun.State.FAILED, f"Unexpected error: {type(exc).__name__}: {exc}")
            return
        finally:
            context.close()
        if finished is None:
            return  # paused or cancelled meanwhile
        if finished:
            _end(run, BulkRun.State.FINISHED)  # 5. End
        else:
            bulk_run_step_enqueue(run_id=run.pk)  # 4. Hand on


def _started(run: BulkRun) -> BulkRun:
    if run.state == BulkRun.State.QUEUED or run.started_at is None:  # (a run paused before it started)
        now = timezone.now()
        BulkRun.objects.filter(pk=run.pk, state__in=(BulkRun.State.QUEUED, BulkRun.State.RUNNING)).update(
            state=BulkRun.State.RUNNING, started_at=run.started_at or now, heartbeat_at=now
        )
        run.refresh_from_db()
    if run.total is None:
        try:
            total = KINDS[run.kind].preview(channel=run.channel, scope=Scope.of(run.scope)).count
        except (RemoteError, NotConfigured):
            total = None  # the listing itself says what is wrong, with the run's own handling
        if total is not None:
            BulkRun.objects.filter(pk=run.pk).update(total=total)
            run.total = total
    return run


@dataclass(frozen=True)
class _Pace:
    deadline: float  # the step's end
    give_way_after: float  # from then on, a step ends early when other work waits (not sooner: each step
    # reads its page again, and a step per item would cost a listing call per item)

    def over(self) -> bool:
        now = time.monotonic()
        return now > self.deadline or (now > self.give_way_after and default_queue_waiting())


def _work(run: BulkRun, handler: BulkKind, context: StepContext, *, lock, pace: _Pace) -> bool | None:
    """Step 3. True: nothing left; False: out of time, or other work waits; None: paused or cancelled."""
    checkpoint = run.checkpoint or {}
    start, skip = checkpoint.get("page") or {}, int(checkpoint.get("skip") or 0)
    for page in handler.pages(run, start=start):
        if page.note:
            _note(run, page.note)
        for index, item in enumerate(page.items[skip:], start=skip):
            if (state := _state(run)) != BulkRun.State.RUNNING:
                return None if state in (BulkRun.State.PAUSED, BulkRun.State.CANCELLED) else False
            lock_confirm(lock)  # still this step's run: a second step would count twice
            result = _process(run, handler, item, context)
            # Keyset kinds resume after the item's key; the others at its position in the page.
            after = {"page": item.after, "skip": 0} if item.after else {"page": start, "skip": index + 1}
            _record(run, item, result, checkpoint=after)
            last = index + 1 == len(page.items)
            if not last and pace.over():
                return False
        start, skip = page.after, 0
        _record_page(run, checkpoint={"page": start, "skip": 0})
        # Events and the feed come first: a step gives its worker back when they wait.
        if pace.over():
            return False
    return True


def _state(run: BulkRun) -> str:
    return BulkRun.objects.filter(pk=run.pk).values_list("state", flat=True).first() or BulkRun.State.CANCELLED


def _process(run: BulkRun, handler: BulkKind, item: Item, context: StepContext) -> ItemResult:
    """One item; a failure stays with the item (a bad order does not stop the run)."""
    try:
        return handler.process(run, item, context)
    except (RetryableError, AuthError):
        # The lane or the remote says wait: the whole step waits, this item runs again. Credentials
        # refused fail every item alike: the run fails with the reason instead.
        raise
    except (RemoteError, NotConfigured) as exc:
        return ItemResult(BulkRunItem.Outcome.FAILED, f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # a bug: visible on the item, not the end of the run
        logger.exception("bulk run %s: item %s crashed", run.pk, item.key)
        return ItemResult(BulkRunItem.Outcome.FAILED, f"Unexpected error: {type(exc).__name__}: {exc}")


def _record(run: BulkRun, item: Item, result: ItemResult, *, checkpoint: dict) -> None:
    with transaction.atomic():
        if result.kept:
            kinds = " ".join(dict.fromkeys(d["kind"] for d in result.differences))
            BulkRunItem.objects.update_or_create(
                run=run,
                key=item.key,
                defaults={
                    "label": item.label[:200],
                    "outcome": result.outcome,
                    "detail": result.detail,
                    "calls": list(result.calls),
                    "differences": list(result.differences),
                    "difference_kinds": f" {kinds} " if kinds else "",
                    "order_sync_id": result.order_sync_id,
                    "order_link_id": result.order_link_id,
                    "repaired_at": timezone.now() if result.repaired else None,
                },
            )
        counter = COUNTS[result.outcome]
        BulkRun.objects.filter(pk=run.pk).update(
            done=F("done") + 1, **{counter: F(counter) + 1}, checkpoint=checkpoint, heartbeat_at=timezone.now()
        )


def _record_page(run: BulkRun, *, checkpoint: dict) -> None:
    BulkRun.objects.filter(pk=run.pk).update(checkpoint=checkpoint, heartbeat_at=timezone.now())


def _beat(run: BulkRun) -> None:
    BulkRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())


def _note(run: BulkRun, note: str) -> None:
    """A line a person should read on the run's page (kept, newest last)."""
    current = BulkRun.objects.filter(pk=run.pk).values_list("message", flat=True).first() or ""
    if note in current:
        return
    BulkRun.objects.filter(pk=run.pk).update(message=f"{current}\n{note}".strip()[-4000:])


def _end(run: BulkRun, state: str, message: str = "") -> None:
    changes: dict[str, Any] = {"state": state, "finished_at": timezone.now()}
    if message:
        current = BulkRun.objects.filter(pk=run.pk).values_list("message", flat=True).first() or ""
        changes["message"] = f"{current}\n{message}".strip()
    # Only a running run ends here: one a person paused or cancelled meanwhile keeps their state.
    BulkRun.objects.filter(pk=run.pk, state=BulkRun.State.RUNNING).update(**changes)
    logger.info("bulk run %s %s%s", run.pk, state, f": {message}" if message else "")


# --- keeping runs going ------------------------------------------------------------------------------------


def bulk_runs_sweep() -> int:
    """Queue the next step of every run that should be moving and is not: its worker was killed, or
    Redis lost its queue. Returns how many were resumed."""
    stale = timezone.now() - timedelta(seconds=settings.BULK_STALE_SECONDS)
    resumed = 0
    for run in BulkRun.objects.filter(state__in=(BulkRun.State.QUEUED, BulkRun.State.RUNNING)).only(
        "id", "heartbeat_at", "created_at"
    ):
        last = run.heartbeat_at or run.created_at
        if last > stale or is_queued(bulk_run_marker(run.pk)):
            continue
        if bulk_run_step_enqueue(run_id=run.pk):
            logger.warning("bulk run %s made no progress since %s: its next step is queued again", run.pk, last)
            resumed += 1
    return resumed


def bulk_reconciliations_schedule() -> list[BulkRun]:
    """The scheduled reconciliation: the last BULK_RECONCILE_DAYS of every active channel that syncs
    order status, as a report (dry: nothing is repaired until a person says so)."""
    if settings.BULK_RECONCILE_DAYS <= 0:
        return []
    since, until = day_range(settings.BULK_RECONCILE_DAYS)
    # A restart of the periodic process runs its jobs at once: not a second report within the interval.
    recent = timezone.now() - timedelta(seconds=settings.BULK_RECONCILE_INTERVAL_SECONDS * 0.9)
    started = []
    for channel in selectors.sales_channels_active():
        if not selectors.transfer_enabled(channel=channel, sync_type=SyncType.ORDER_STATUS_UPLOAD):
            continue
        if BulkRun.objects.filter(
            channel=channel, kind=BulkRun.Kind.RECONCILIATION, started_by="schedule", created_at__gte=recent
        ).exists():
            continue
        try:
            started.append(
                bulk_run_start(
                    channel=channel,
                    kind=BulkRun.Kind.RECONCILIATION,
                    scope={"since": since.isoformat(), "until": until.isoformat()},
                    dry_run=True,
                    started_by="schedule",
                )
            )
        except BulkRunRefused as exc:
            logger.info("scheduled reconciliation of %s not started: %s", channel.code, exc)
    return started
