"""Asynchronous VTEX requests in flight: written down when sent, forgotten once applied (sync/pending.py),
and the senders of sync/outbound.py that use it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sync.clients.errors import RejectedError, RetryableError
from sync.models import OrderSync, TimelineEntry
from sync.outbound import vtex_action_send
from sync.pending import pending_cancel, pending_facts, pending_removal, pending_settle, pending_tracking
from sync.plan import CancelOrder, OutboundFacts, PutTrackingEvents, RemoveItems
from sync.runner import order_sync_retry
from tests.factories import OrderSyncFactory
from tests.sync.builders import erp_order, order_line, vtex_item, vtex_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def sync(channel):
    return OrderSyncFactory(channel=channel, key="4711", vtex_order_id="V-1")


def two_lines(quantity_of_second: int):
    items = [vtex_item(0, quantity=2, price=2950), vtex_item(1, quantity=quantity_of_second, price=4000)]
    return vtex_order(items, status="handling", shipping=1700)


def test_a_sent_removal_is_stored_at_once_and_read_back_by_the_next_run(sync):
    with pending_removal(order_sync=sync, targets={"U1": 0}):
        pass  # sent
    with pending_cancel(order_sync=sync):
        pass

    read = pending_facts(order_sync=OrderSync.objects.get(pk=sync.pk))

    assert read["removal_targets"] == {"U1": 0}
    assert timezone.now() - read["removal_sent_at"] < timedelta(seconds=5)
    assert read["cancel_sent_at"] is not None


def test_an_applied_removal_is_forgotten(sync):
    with pending_removal(order_sync=sync, targets={"U1": 0}):
        pass
    facts = OutboundFacts(
        order=erp_order([order_line(1)]),
        vtex_order=two_lines(0),
        now=timezone.now() + timedelta(seconds=1),
        **pending_facts(order_sync=sync),
    )

    settled = pending_settle(facts=facts, order_sync=sync)

    assert (settled.removal_targets, OrderSync.objects.get(pk=sync.pk).vtex_pending) == ({}, {})
    assert not TimelineEntry.objects.exists()


def test_a_cancel_is_forgotten_once_vtex_is_cancelling(sync):
    with pending_cancel(order_sync=sync):
        pass
    cancelling = vtex_order([vtex_item(0, quantity=2, price=2950)], status="cancel", shipping=1700)
    facts = OutboundFacts(
        order=erp_order([order_line(1)]), vtex_order=cancelling, now=timezone.now(), **pending_facts(order_sync=sync)
    )

    assert pending_settle(facts=facts, order_sync=sync).cancel_sent_at is None
    assert OrderSync.objects.get(pk=sync.pk).vtex_pending == {}


@pytest.mark.parametrize(
    ("status", "forgotten"),
    [(OrderSync.Status.CONFLICT, True), (OrderSync.Status.WAITING, False), (OrderSync.Status.FAILED, False)],
)
def test_an_operators_retry_forgets_what_vtex_never_applied_only_after_a_conflict(sync, status, forgotten):
    # A conflict asked a person to check VTEX; retrying work that only waits must not send it twice.
    pending = {
        "cancel_at": timezone.now().isoformat(),
        "removal": {"at": timezone.now().isoformat(), "targets": {"U1": 0}},
        "tracking": {"LS-1": {"events": [], "delivered": True}},
    }
    OrderSync.objects.filter(pk=sync.pk).update(vtex_pending=pending, status=status, erp_create_sent_at=timezone.now())

    order_sync_retry(order_sync=sync, actor="manager")

    after = OrderSync.objects.get(pk=sync.pk)
    if forgotten:
        assert after.vtex_pending == {"tracking": pending["tracking"]} and after.erp_create_sent_at is None
    else:
        assert after.vtex_pending == pending and after.erp_create_sent_at is not None


def test_a_removal_still_in_time_is_kept(sync):
    with pending_removal(order_sync=sync, targets={"U1": 0}):
        pass
    facts = OutboundFacts(
        order=erp_order([order_line(1)]), vtex_order=two_lines(1), now=timezone.now(), **pending_facts(order_sync=sync)
    )

    assert pending_settle(facts=facts, order_sync=sync).removal_targets == {"U1": 0}
    assert OrderSync.objects.get(pk=sync.pk).vtex_pending["removal"]["targets"] == {"U1": 0}


# --- written down before it is sent ----------------------------------------------------------------


class FailingVtex:
    """A VTEX client whose cancel / change call fails the given way (and whose note may fail too)."""

    def __init__(self, error=None, note_error=None):
        self.error, self.note_error, self.notes = error, note_error, []

    def create_order_changes(self, order_id, changes):
        if self.error:
            raise self.error

    def cancel_order(self, order_id, reason):
        if self.error:
            raise self.error

    def create_note(self, order_id, description):
        if self.note_error:
            raise self.note_error
        self.notes.append(description)


REMOVAL = RemoveItems(changes={"reason": "r", "remove": {"items": []}}, targets={"U1": 0})
CANCEL = CancelOrder(reason="Cancelled in VARIO ERP", note="note")


def _timeout():
    return RetryableError("timed out (ReadTimeout)", remote="vtex")


@pytest.mark.parametrize(
    ("error", "kept"),
    [
        (_timeout(), True),  # VTEX may have accepted it: the next run waits for it
        (RetryableError("Internal error", remote="vtex", status=500), True),
        (RetryableError("connection failed", remote="vtex", may_have_applied=False), False),
        (RetryableError("Too Many Requests", remote="vtex", status=429, may_have_applied=False), False),
        (RejectedError("not allowed", remote="vtex", status=400), False),
    ],
)
@pytest.mark.parametrize(("action", "key"), [(REMOVAL, "removal"), (CANCEL, "cancel_at")])
def test_a_request_is_written_down_before_it_is_sent_and_forgotten_only_when_vtex_cannot_have_acted(
    sync, action, key, error, kept
):
    with pytest.raises(type(error)):
        vtex_action_send(action=action, vtex=FailingVtex(error), order_sync=sync)

    assert (key in OrderSync.objects.get(pk=sync.pk).vtex_pending) is kept


def test_a_removal_answered_is_kept_until_vtex_shows_it(sync):
    vtex_action_send(action=REMOVAL, vtex=FailingVtex(), order_sync=sync)

    assert OrderSync.objects.get(pk=sync.pk).vtex_pending["removal"]["targets"] == {"U1": 0}


def test_a_note_that_fails_after_the_cancel_is_a_problem_entry_not_a_failure(sync):
    vtex = FailingVtex(note_error=RetryableError("Internal error", remote="vtex", status=503))

    vtex_action_send(action=CANCEL, vtex=vtex, order_sync=sync)

    assert "cancel_at" in OrderSync.objects.get(pk=sync.pk).vtex_pending  # not sent again
    problem = TimelineEntry.objects.get(kind=TimelineEntry.Kind.PROBLEM)
    assert problem.title == "Timeline note not added" and "503" in problem.detail


def test_a_request_the_http_library_never_sent_is_forgotten(sync):
    from sync.clients.errors import NotSentError

    with pytest.raises(NotSentError):
        vtex_action_send(
            action=REMOVAL, vtex=FailingVtex(NotSentError("request not sent", remote="vtex")), order_sync=sync
        )

    assert "removal" not in OrderSync.objects.get(pk=sync.pk).vtex_pending


class FailingTrackingVtex:
    def __init__(self, error):
        self.error = error

    def update_tracking_status(self, order_id, invoice_number, status):
        raise self.error


EARLIER = {"LS-1": {"events": [["Ostrava", "MSK", "Picked up"]], "delivered": False}}
PUT = PutTrackingEvents(
    "LS-1",
    {
        "isDelivered": False,
        "deliveredDate": None,
        "events": [{"city": "Brno", "state": "JHM", "description": "At the hub", "date": "2026-03-03"}],
    },
)


@pytest.mark.parametrize(
    ("error", "events_kept"),
    [
        (_timeout(), 2),  # VTEX may have appended them: taken as sent, not sent twice
        (RejectedError("bad date", remote="vtex", status=400), 1),  # refused: back to what it was
    ],
)
def test_a_tracking_put_is_written_down_first_and_put_back_when_refused(sync, error, events_kept):
    OrderSync.objects.filter(pk=sync.pk).update(vtex_pending={"tracking": EARLIER})
    sync.refresh_from_db()

    with pytest.raises(type(error)):
        vtex_action_send(action=PUT, vtex=FailingTrackingVtex(error), order_sync=sync)

    assert len(OrderSync.objects.get(pk=sync.pk).vtex_pending["tracking"]["LS-1"]["events"]) == events_kept


def test_a_tracking_put_answered_is_read_back_with_the_events_sent_before(sync):
    OrderSync.objects.filter(pk=sync.pk).update(vtex_pending={"tracking": EARLIER})
    sync.refresh_from_db()

    with pending_tracking(order_sync=sync, action=PUT):
        pass  # VTEX answered 200

    sent = pending_facts(order_sync=OrderSync.objects.get(pk=sync.pk))["tracking_sent"]
    assert sent == {
        "LS-1": {"events": [["Ostrava", "MSK", "Picked up"], ["Brno", "JHM", "At the hub"]], "delivered": False}
    }
