"""The bulk run's machinery (sync/bulk/services.py) with a kind of its own: no remote, no worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mappings.models import SyncType, TransferToggle
from sync.bulk import services
from sync.bulk.kinds import BulkKind, Item, ItemResult, Page, Preview, ScopeInvalid
from sync.bulk.models import BulkRun, BulkRunItem
from sync.bulk.services import (
    BulkRunRefused,
    bulk_reconciliations_schedule,
    bulk_run_cancel,
    bulk_run_pause,
    bulk_run_resume,
    bulk_run_start,
    bulk_run_step,
    bulk_runs_sweep,
)
from sync.clients.errors import RejectedError, RetryableError
from tests.factories import SalesChannelFactory

pytestmark = pytest.mark.django_db(transaction=True)
KIND = BulkRun.Kind.ORDER_STATUS_INITIAL


class Numbers(BulkKind):
    """Items 1..n in pages of 3; item outcomes by rule; counts every process call."""

    kind = KIND
    scope_fields = ("since", "until", "ids")

    def __init__(self, n=7, fail=(), crash=(), wait_at=None, on_item=None):
        self.n, self.fail, self.crash, self.wait_at, self.on_item = n, set(fail), set(crash), wait_at, on_item
        self.processed: list[str] = []
        self.keyed, self.gone = False, set()  # keyed: items resume by key (keyset paging); gone: left the scope

    def preview(self, *, channel, scope):
        return Preview(self.n)

    def pages(self, run, *, start):
        first = int(start.get("next") or 1)
        numbers = [k for k in range(first, self.n + 1) if str(k) not in self.gone]
        for at in range(0, len(numbers), 3):
            keys = [str(k) for k in numbers[at : at + 3]]
            after = (lambda key: {"next": int(key) + 1}) if self.keyed else (lambda key: None)
            yield Page(tuple(Item(key, f"#{key}", after=after(key)) for key in keys), {"next": int(keys[-1]) + 1})

    def process(self, run, item, context):
        if self.wait_at == item.key:
            self.wait_at = None
            raise RetryableError("rate limit reached", remote="vario", retry_after=0.01)
        self.processed.append(item.key)
        if self.on_item:
            self.on_item(run, item)
        if item.key in self.crash:
            raise ZeroDivisionError("a bug")
        if item.key in self.fail:
            raise RejectedError("VTEX refused it", remote="vtex", status=400, code="X1")
        changed = int(item.key) % 2 == 0
        return ItemResult(BulkRunItem.Outcome.CHANGED if changed else BulkRunItem.Outcome.UNCHANGED, "done")


@pytest.fixture
def kind(monkeypatch, redis_conn):
    handler = Numbers()
    monkeypatch.setitem(services.KINDS, KIND, handler)
    enqueued = []
    monkeypatch.setattr(services, "bulk_run_step_enqueue", lambda *, run_id, delay=None: enqueued.append(delay))
    handler.enqueued = enqueued
    return handler


@pytest.fixture
def channel():
    return SalesChannelFactory(code="shop")


def start(channel, **kwargs):
    return bulk_run_start(channel=channel, kind=KIND, scope={"since": "2026-01-01"}, dry_run=False, started_by="ann")


def test_a_run_goes_through_every_item_once_and_counts_each_outcome(kind, channel):
    kind.fail, kind.crash = {"3"}, {"5"}
    run = start(channel)

    bulk_run_step(run_id=run.pk)

    run.refresh_from_db()
    assert run.state == BulkRun.State.FINISHED and run.finished_at and run.started_at
    assert kind.processed == [str(k) for k in range(1, 8)]
    assert (run.total, run.done, run.changed, run.unchanged, run.failed) == (7, 7, 3, 2, 2)
    kept = {i.key: (i.outcome, i.detail) for i in run.items.all()}
    assert set(kept) == {"2", "3", "4", "5", "6"}  # unchanged items are counted, not kept
    assert "VTEX refused it" in kept["3"][1] and "ZeroDivisionError" in kept["5"][1]


def test_a_step_out_of_time_hands_on_and_the_next_resumes_from_the_checkpoint(kind, channel, settings):
    settings.BULK_STEP_SECONDS = 0
    run = start(channel)

    bulk_run_step(run_id=run.pk)
    run.refresh_from_db()
    assert (run.state, run.done, kind.enqueued) == (BulkRun.State.RUNNING, 1, [None, None])  # start, hand-on

    while run.state == BulkRun.State.RUNNING:
        bulk_run_step(run_id=run.pk)
        run.refresh_from_db()
    assert kind.processed == [str(k) for k in range(1, 8)] and run.done == 7


def test_a_worker_killed_mid_item_runs_that_item_again_and_counts_it_once(kind, channel):
    def killed_at_4(run, item):
        if item.key == "4" and not getattr(kind, "killed", False):
            kind.killed = True
            raise KeyboardInterrupt  # stands for SIGKILL: nothing after this point of the step happens

    kind.on_item = killed_at_4
    run = start(channel)
    with pytest.raises(KeyboardInterrupt):
        bulk_run_step(run_id=run.pk)
    run.refresh_from_db()
    assert (run.done, run.checkpoint) == (3, {"page": {"next": 4}, "skip": 0})

    bulk_run_step(run_id=run.pk)

    run.refresh_from_db()
    assert kind.processed == ["1", "2", "3", "4", "4", "5", "6", "7"]
    assert (run.state, run.done, run.changed) == (BulkRun.State.FINISHED, 7, 3)


def test_the_remote_saying_wait_queues_the_step_for_later_with_the_item_still_to_do(kind, channel):
    kind.wait_at = "2"
    run = start(channel)

    bulk_run_step(run_id=run.pk)

    run.refresh_from_db()
    assert (run.state, run.done, kind.enqueued) == (BulkRun.State.RUNNING, 1, [None, 0.01])
    bulk_run_step(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == BulkRun.State.FINISHED and kind.processed == [str(k) for k in range(1, 8)]


def test_pause_stops_before_the_next_item_and_resume_goes_on(kind, channel):
    kind.on_item = lambda run, item: item.key == "2" and bulk_run_pause(run=run)
    run = start(channel)

    bulk_run_step(run_id=run.pk)
    run.refresh_from_db()
    assert (run.state, run.done) == (BulkRun.State.PAUSED, 2)
    bulk_run_step(run_id=run.pk)  # a step queued before the pause does nothing
    assert kind.processed == ["1", "2"]

    bulk_run_resume(run=run)
    bulk_run_step(run_id=run.pk)
    run.refresh_from_db()
    assert (run.state, run.done) == (BulkRun.State.FINISHED, 7)


def test_cancel_ends_the_run_and_it_stays_cancelled(kind, channel):
    kind.on_item = lambda run, item: item.key == "3" and bulk_run_cancel(run=run)
    run = start(channel)

    bulk_run_step(run_id=run.pk)

    run.refresh_from_db()
    assert (run.state, run.done) == (BulkRun.State.CANCELLED, 3) and run.finished_at
    with pytest.raises(BulkRunRefused):
        bulk_run_resume(run=run)


def test_one_active_run_per_kind_and_channel(kind, channel):
    first = start(channel)
    with pytest.raises(BulkRunRefused, match=f"run #{first.pk}"):
        start(channel)
    other = SalesChannelFactory(code="other")
    assert start(other).pk != first.pk  # another channel may
    bulk_run_cancel(run=first)
    assert start(channel).state == BulkRun.State.QUEUED  # once it ended, a new one may


@pytest.mark.parametrize(
    "scope, message",
    [
        ({"since": "yesterday"}, "expected a date"),
        ({"since": "2026-02-01", "until": "2026-01-01"}, "before until"),
        ({}, "date range"),
        ({"ids": ",".join(str(i) for i in range(1001))}, "at most 1000"),
        ({"vtex_statuses": "invoiced"}, "does not read"),
        ({"ids": "AU-1\x00"}, "letters, digits"),
        ({"ids": "AU-1, AB/2026/001"}, "not 'AB/2026/001'"),  # VQL literals admit no slash
        ({"since": "2026-01-01", "erp_states": "Offen'x"}, "letters, digits"),
        ({"since": "2026-02-30"}, "expected a date"),
        ({"since": "2026-01-01T25:00"}, "expected a date"),
        ({"since": "0001-01-01"}, "from 2000"),
        ({"since": "2999-01-01"}, "to tomorrow"),
    ],
)
def test_a_scope_that_can_not_run_is_refused_with_what_to_change(kind, channel, scope, message):
    from sync.bulk.initial import OrderStatusInitialSync

    services.KINDS[KIND] = OrderStatusInitialSync()
    with pytest.raises(ScopeInvalid, match=message):
        bulk_run_start(channel=channel, kind=KIND, scope=scope, dry_run=False, started_by="ann")
    assert not BulkRun.objects.exists()


def test_the_sweep_resumes_a_stalled_run_and_leaves_moving_ones_alone(kind, channel, monkeypatch, settings):
    settings.BULK_STALE_SECONDS = 60
    stalled, moving, paused = start(channel), start(SalesChannelFactory(code="b")), start(SalesChannelFactory(code="c"))
    long_ago = timezone.now() - timedelta(minutes=5)
    BulkRun.objects.filter(pk__in=[stalled.pk, paused.pk]).update(state=BulkRun.State.RUNNING, heartbeat_at=long_ago)
    BulkRun.objects.filter(pk=moving.pk).update(state=BulkRun.State.RUNNING, heartbeat_at=timezone.now())
    bulk_run_pause(run=paused)
    monkeypatch.setattr(services, "is_queued", lambda marker: False)
    resumed = []
    monkeypatch.setattr(services, "bulk_run_step_enqueue", lambda *, run_id, delay=None: resumed.append(run_id) or True)

    assert bulk_runs_sweep() == 1
    assert resumed == [stalled.pk]


def test_the_scheduled_reconciliation_reports_on_every_channel_that_syncs_order_status(channel, settings, redis_conn):
    settings.BULK_RECONCILE_DAYS = 3
    quiet = SalesChannelFactory(code="quiet")
    TransferToggle.objects.filter(channel=quiet, sync_type=SyncType.ORDER_STATUS_UPLOAD).update(enabled=False)
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.ORDER_STATUS_UPLOAD).update(enabled=True)

    [run] = bulk_reconciliations_schedule()

    assert (run.channel, run.kind, run.dry_run, run.started_by) == (channel, "reconciliation", True, "schedule")
    assert bulk_reconciliations_schedule() == []  # not twice within the interval, even once it ended
    bulk_run_cancel(run=run)
    assert bulk_reconciliations_schedule() == []


def test_a_keyset_kind_resumes_after_the_last_key_although_its_page_changed(kind, channel, settings):
    settings.BULK_STEP_SECONDS = 0  # one item per step
    kind.keyed = True
    run = start(channel)
    bulk_run_step(run_id=run.pk)
    bulk_run_step(run_id=run.pk)
    kind.gone = {"1"}  # left the scope meanwhile (its ERP state changed): the page now starts at 2

    while BulkRun.objects.get(pk=run.pk).state == BulkRun.State.RUNNING:
        bulk_run_step(run_id=run.pk)

    assert kind.processed == [str(k) for k in range(1, 8)]  # none skipped, none twice
