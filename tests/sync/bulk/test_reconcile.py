"""Reconciling one linked order (sync/bulk/reconcile.py): the sync's own read, no write to either remote,
one order's problem reported rather than raised, and the repair as the normal sync.

Covered here against fake clients: differences found and repairable; the order's existing status sync
(its ERP refs, its requests VTEX has not applied, a dissolve) used and left unsaved; a missing mapping,
a document that is no customer order, a VTEX 404 and an ERP 404 as the problem; a temporary error and
refused credentials raised; a link without an ERP order; a channel that does not sync order statuses;
the repair's request and timeline note. Against the sandbox: the lead's e2e test.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from mappings.models import SyncType, TransferToggle
from mappings.services import status_mappings_load_defaults
from sync import runner
from sync.bulk.reconcile import Reconciled, order_differences_repair, order_link_reconcile
from sync.clients.errors import AuthError, NotFoundError, RetryableError
from sync.models import OrderSync, TimelineEntry
from tests.factories import CarrierCodeFactory, OrderLinkFactory, OrderSyncFactory
from tests.sync.builders import erp_order, follow_up, order_line, package, shipment, vtex_item, vtex_order

pytestmark = pytest.mark.django_db

ORDER = erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1)], state="DELIVERED")
NOTE = follow_up("2044", "LS-2044", {1: 2, 2: 1})


def vtex_side(status="handling", packages=(), order_id="1-01"):
    items = [vtex_item(0, quantity=2, price=2950), vtex_item(1, quantity=1, price=4000)]
    return vtex_order(items, status=status, shipping=1700, packages=packages, order_id=order_id)


class FakeVario:
    """VARIO's reads, as sync.outbound makes them; ``queried`` is what VARIO's document query shows."""

    def __init__(self, order=ORDER, documents=(NOTE,), shipments=(), queried=None, error=None):
        self.documents = {d.id: d for d in (order, *documents)}
        self.queried = [d.id for d in documents] if queried is None else queried
        self.shipments = {s.id: s for s in shipments}
        self.error = error

    def get_document(self, document_id):
        if self.error is not None:
            raise self.error
        if document_id not in self.documents:
            raise NotFoundError("no such document", remote="vario", method="GET", path=f"/erp/documents/{document_id}")
        return self.documents[document_id]

    def find_follow_up_ids(self, *, order_number, categories):
        return [i for i in self.queried if self.documents[i].category in categories]

    def find_shipment_ids(self, *, document_ids):
        return [s.id for s in self.shipments.values() if s.document_id in document_ids]

    def get_shipment(self, shipment_id):
        return self.shipments[shipment_id]


class ReadOnlyVtex:
    """VTEX's order read; any other call is a write a reconciliation must never make."""

    def __init__(self, order=None, error=None):
        self.order = order or vtex_side()
        self.error = error
        self.reads = 0

    def get_order(self, order_id):
        self.reads += 1
        if self.error is not None:
            raise self.error
        if order_id != self.order.order_id:
            raise NotFoundError("order not found", remote="vtex", method="GET", path=f"/api/oms/pvt/orders/{order_id}")
        return self.order

    def __getattr__(self, name):
        pytest.fail(f"a reconciliation must not call VTEX's {name}")


@pytest.fixture
def link(channel):
    status_mappings_load_defaults(channel=channel)
    CarrierCodeFactory(channel=channel, erp_carrier_key="DHL", vtex_courier_name="DHL")
    return OrderLinkFactory(channel=channel, vtex_order_id="1-01", erp_order_id="1042", erp_order_number="AU-1")


def test_a_delivery_vtex_lacks_is_found_repairable_and_nothing_is_written(link):
    vtex = ReadOnlyVtex()

    result = order_link_reconcile(order_link=link, vario=FakeVario(), vtex=vtex)

    assert result.problem == ""
    assert {(d.kind, d.subject, d.repairable) for d in result.differences} == {
        ("status", "", True),
        ("invoice_missing", "LS-2044", True),
    }
    assert vtex.reads == 1
    assert not OrderSync.objects.exists()  # the stand-in status sync is never saved


def test_an_order_both_sides_agree_on_has_no_difference(link):
    invoice = package("LS-2044", [(0, 2, 2950), (1, 1, 4000)], value=11600)

    result = order_link_reconcile(
        order_link=link, vario=FakeVario(), vtex=ReadOnlyVtex(vtex_side("invoiced", [invoice]))
    )

    assert result == Reconciled(())


def test_tracking_vario_has_for_an_invoice_vtex_shows_without_it_is_repairable(link):
    invoice = package("LS-2044", [(0, 2, 2950), (1, 1, 4000)], value=11600)
    vario = FakeVario(shipments=(shipment("2044", "DHL", "00340434"),))

    result = order_link_reconcile(order_link=link, vario=vario, vtex=ReadOnlyVtex(vtex_side("invoiced", [invoice])))

    [tracking] = result.differences
    assert (tracking.kind, tracking.erp, tracking.vtex, tracking.repairable) == (
        "tracking",
        "DHL 00340434",
        "no tracking",
        True,
    )


def test_the_orders_status_sync_gives_the_documents_its_events_named(link):
    # VARIO's query does not show the delivery note yet; the webhook that named it is on the status sync.
    sync = OrderSyncFactory(
        channel=link.channel, key="1042", status=OrderSync.Status.DONE, erp_refs={"documents": ["2044"]}
    )
    vario = FakeVario(queried=[])

    result = order_link_reconcile(order_link=link, vario=vario, vtex=ReadOnlyVtex())

    assert "invoice_missing" in {d.kind for d in result.differences}
    sync.refresh_from_db()
    assert (sync.status, sync.vtex_order_id, sync.erp_order_number) == (OrderSync.Status.DONE, "", "")  # not saved


def test_a_removal_vtex_has_not_applied_yet_is_not_repairable_now(link):
    order = erp_order(
        [order_line(1, quantity=2, committed=2, complete=True), order_line(2, committed=0, complete=True)],
        state="CLOSED",
    )
    sent = (timezone.now() - timedelta(seconds=5)).isoformat()
    OrderSyncFactory(channel=link.channel, key="1042", vtex_pending={"removal": {"at": sent, "targets": {"U1": 0}}})
    vario = FakeVario(order=order, documents=(follow_up("2044", "LS-2044", {1: 2}),))

    result = order_link_reconcile(order_link=link, vario=vario, vtex=ReadOnlyVtex())

    items = next(d for d in result.differences if d.kind == "items")
    assert not items.repairable and "waiting for VTEX to apply it" in items.title


def test_a_dissolve_the_status_sync_saw_makes_the_order_cancelled(link):
    OrderSyncFactory(channel=link.channel, key="1042", erp_dissolved=True)
    vario = FakeVario(order=erp_order([order_line(1, quantity=2), order_line(2)]), documents=())

    result = order_link_reconcile(order_link=link, vario=vario, vtex=ReadOnlyVtex())

    [cancellation] = result.differences
    assert (cancellation.kind, cancellation.repairable) == ("cancellation", True)


def test_a_missing_status_mapping_is_the_problem(link):
    link.channel.status_mappings.filter(erp_state="fully_shipped").delete()

    result = order_link_reconcile(order_link=link, vario=FakeVario(), vtex=ReadOnlyVtex())

    assert result.differences == ()
    assert result.problem == "channel shop has no status mapping for ERP state 'fully_shipped'"


def test_a_document_that_is_no_customer_order_is_the_problem(link):
    vario = FakeVario(order=replace(ORDER, category="CUSTOMER_DELIVERY_DOCUMENT"), documents=())

    result = order_link_reconcile(order_link=link, vario=vario, vtex=ReadOnlyVtex())

    assert result.problem == "ERP document AU-1 is a CUSTOMER_DELIVERY_DOCUMENT, not a customer order"


def test_a_vtex_order_vtex_does_not_know_is_the_problem_not_an_error(link):
    vtex = ReadOnlyVtex(
        error=NotFoundError("Order not found", remote="vtex", method="GET", path="/api/oms/pvt/orders/1-01", status=404)
    )

    result = order_link_reconcile(order_link=link, vario=FakeVario(), vtex=vtex)

    assert result.differences == ()
    assert result.problem.startswith("Could not read the order: vtex GET /api/oms/pvt/orders/1-01 → 404")


def test_an_erp_order_vario_does_not_know_is_the_problem_not_an_error(link):
    result = order_link_reconcile(
        order_link=link, vario=FakeVario(order=erp_order([], document_id="other")), vtex=ReadOnlyVtex()
    )

    assert "no such document" in result.problem


@pytest.mark.parametrize(
    "error",
    [
        RetryableError("busy", remote="vario", status=503),
        AuthError("token refused", remote="vario", status=401),
    ],
)
def test_a_temporary_error_and_refused_credentials_are_raised_for_the_run(link, error):
    with pytest.raises(type(error)):
        order_link_reconcile(order_link=link, vario=FakeVario(error=error), vtex=ReadOnlyVtex())


def test_an_erp_order_that_names_another_vtex_order_is_the_problem(link):
    vario = FakeVario(order=replace(ORDER, external_identifier="9-09"))

    result = order_link_reconcile(order_link=link, vario=vario, vtex=ReadOnlyVtex(vtex_side(order_id="9-09")))

    assert result.problem == "ERP order AU-1 names VTEX order 9-09, the order link 1-01: check which is right."


def test_a_link_without_an_erp_order_is_not_compared(channel):
    link = OrderLinkFactory(channel=channel, vtex_order_id="1-01", erp_order_id="")

    result = order_link_reconcile(order_link=link, vario=FakeVario(), vtex=ReadOnlyVtex())

    assert result.problem == "Order link 1-01 has no ERP order yet: nothing to compare."


def test_a_channel_that_does_not_sync_order_statuses_gets_no_repairable_difference(link):
    TransferToggle.objects.filter(channel=link.channel, sync_type=SyncType.ORDER_STATUS_UPLOAD).update(enabled=False)

    result = order_link_reconcile(order_link=link, vario=FakeVario(), vtex=ReadOnlyVtex())

    assert {d.kind for d in result.differences} == {"status", "invoice_missing"}
    assert not any(d.repairable for d in result.differences)
    assert all("Order status upload is switched off for shop" in d.title for d in result.differences)


# --- repair ------------------------------------------------------------------------------------------


def test_a_repair_requests_the_normal_sync_and_notes_who_asked(link, monkeypatch, django_capture_on_commit_callbacks):
    enqueued = []
    monkeypatch.setattr(runner, "order_sync_enqueue", lambda **kwargs: enqueued.append(kwargs))

    with django_capture_on_commit_callbacks(execute=True):
        sync = order_differences_repair(order_link=link, actor="alice")

    sync.refresh_from_db()
    assert (sync.kind, sync.key, sync.erp_order_id, sync.vtex_order_id) == ("status", "1042", "1042", "1-01")
    assert (sync.status, sync.generation) == (OrderSync.Status.PENDING, 1)
    assert enqueued == [{"order_sync_id": sync.pk, "kind": "status"}]
    [note] = TimelineEntry.objects.filter(order_sync=sync)
    assert (note.kind, note.title) == (TimelineEntry.Kind.OPERATOR, "Repair requested by alice after reconciliation")
    assert (note.vtex_order_id, note.erp_order_id) == ("1-01", "1042")


def test_a_repair_of_an_order_synced_before_runs_its_existing_status_sync_again(link, monkeypatch):
    monkeypatch.setattr(runner, "order_sync_enqueue", lambda **kwargs: None)
    existing = OrderSyncFactory(channel=link.channel, key="1042", status=OrderSync.Status.DONE, generation=3)

    sync = order_differences_repair(order_link=link, actor="bob")

    assert sync.pk == existing.pk and sync.generation == 4 and sync.status == OrderSync.Status.PENDING


def test_a_link_without_an_erp_order_cannot_be_repaired(channel):
    link = OrderLinkFactory(channel=channel, vtex_order_id="1-01", erp_order_id="")

    with pytest.raises(ValueError, match="has no ERP order"):
        order_differences_repair(order_link=link, actor="alice")
    assert not OrderSync.objects.exists()
