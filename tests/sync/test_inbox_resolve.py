"""VARIO events resolved to their customer order, once per document per batch (sync/inbox.py ErpOrders)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sync import inbox
from sync import queue as sync_queue
from sync.clients.errors import NotFoundError
from sync.inbox import ErpOrderRef, ErpOrders, inbox_event_store, inbox_events_drain
from sync.models import InboxEvent, OrderSync
from tests.sync.builders import erp_order, follow_up, order_line, shipment

pytestmark = pytest.mark.django_db

ORDER = replace(erp_order([order_line(1)], number="AU-10042", document_id="1042"), sales_channel_id="7")
_NOTE = follow_up("2044", "LS-20044", {1: 1}, order_id="1042")
NOTE = replace(
    _NOTE,
    sales_channel_id="7",
    lines=tuple(replace(line, order_line=replace(line.order_line, document_number="AU-10042")) for line in _NOTE.lines),
)


class FakeVario:
    """The ERP as the resolver sees it, counting what it is asked."""

    def __init__(self, *documents, shipments=()):
        self.documents = {d.id: d for d in documents}
        self.shipments = {s.id: s for s in shipments}
        self.calls: list[str] = []
        self.closed = False

    def get_document(self, document_id):
        self.calls.append(f"document {document_id}")
        if document_id not in self.documents:
            raise NotFoundError("no such document", remote="vario", method="GET", path=f"/erp/documents/{document_id}")
        return self.documents[document_id]

    def get_shipment(self, shipment_id):
        self.calls.append(f"shipment {shipment_id}")
        return self.shipments[shipment_id]

    def find_order_by_number(self, number):
        self.calls.append(f"order number {number}")
        return next((d for d in self.documents.values() if d.number == number), None)

    def close(self):
        self.closed = True


@pytest.fixture
def fake(monkeypatch):
    holder = {}

    def install(*documents, shipments=()):
        holder["vario"] = FakeVario(*documents, shipments=shipments)
        monkeypatch.setattr(inbox, "vario_client", lambda: holder["vario"])
        return holder["vario"]

    return install


def event(name, entity_id):
    return InboxEvent(source=InboxEvent.Source.VARIO_WEBHOOK, event=name, entity_id=entity_id, payload={})


def test_a_delivery_note_names_its_order_and_channel_without_reading_the_order(fake):
    vario = fake(ORDER, NOTE)

    ref = ErpOrders().resolve(event("document.customer_delivery_document.order_to_delivery", "2044"))

    assert ref == ErpOrderRef(id="1042", number="AU-10042", sales_channel_id="7")
    assert vario.calls == ["document 2044"]


def test_a_note_without_a_sales_channel_reads_its_order(fake):
    vario = fake(ORDER, replace(NOTE, sales_channel_id=""))

    ref = ErpOrders().resolve(event("document.customer_delivery_document.order_to_delivery", "2044"))

    assert ref == ErpOrderRef(id="1042", number="AU-10042", sales_channel_id="7", external_order_id="1-01")
    assert vario.calls == ["document 2044", "document 1042"]


def test_a_note_without_line_references_is_matched_by_the_order_number(fake):
    unlinked = replace(NOTE, lines=tuple(replace(line, order_line=None) for line in NOTE.lines))
    vario = fake(ORDER, replace(unlinked, referenced_order_number="AU-10042"))

    ref = ErpOrders().resolve(event("document.customer_delivery_document.order_to_delivery", "2044"))

    assert ref.id == "1042"
    assert vario.calls == ["document 2044", "order number AU-10042"]


def test_a_parcel_and_its_delivery_note_in_one_batch_read_the_note_once(fake):
    vario = fake(ORDER, NOTE, shipments=[shipment("2044", "DHL", "0034")])
    erp_orders = ErpOrders()

    refs = [
        erp_orders.resolve(event("document.customer_delivery_document.order_to_delivery", "2044")),
        erp_orders.resolve(event("shipment.parcel.completed", "3301")),
    ]

    assert refs[0] == refs[1]
    assert vario.calls == ["document 2044", "shipment 3301"]


@pytest.mark.django_db(transaction=True)
def test_a_drain_resolves_its_batch_with_one_client_and_closes_it(fake, channel, redis_conn):
    vario = fake(ORDER, NOTE, shipments=[shipment("2044", "DHL", "0034")])
    channel.vario_sales_channel_id = "7"
    channel.save()
    for name, entity_id in [
        ("document.customer_delivery_document.order_to_delivery", "2044"),
        ("shipment.parcel.completed", "3301"),
    ]:
        inbox_event_store(source=InboxEvent.Source.VARIO_WEBHOOK, event=name, entity_id=entity_id, payload={})
    sync_queue.inbox_handoff_wait()

    assert inbox_events_drain(batch_size=10) == 2

    assert vario.calls == ["document 2044", "shipment 3301"]
    assert vario.closed
    sync = OrderSync.objects.get()
    assert (sync.channel_id, sync.key, sync.erp_order_number) == (channel.pk, "1042", "AU-10042")
    assert set(InboxEvent.objects.values_list("status", "order_sync_id")) == {(InboxEvent.Status.PROCESSED, sync.pk)}


@pytest.mark.django_db(transaction=True)
def test_an_unknown_document_fails_only_its_event(fake, channel, redis_conn):
    fake(ORDER, NOTE)
    channel.vario_sales_channel_id = "7"
    channel.save()
    for entity_id in ("9999", "2044"):
        inbox_event_store(
            source=InboxEvent.Source.VARIO_WEBHOOK,
            event="document.customer_delivery_document.order_to_delivery",
            entity_id=entity_id,
            payload={},
        )
    sync_queue.inbox_handoff_wait()

    inbox_events_drain(batch_size=10)

    statuses = dict(InboxEvent.objects.values_list("entity_id", "status"))
    assert statuses == {"9999": InboxEvent.Status.FAILED, "2044": InboxEvent.Status.PROCESSED}


@pytest.mark.django_db(transaction=True)
def test_an_order_two_portal_channels_could_claim_fails_naming_both(fake, channel, redis_conn):
    from tests.factories import SalesChannelFactory

    fake(ORDER, NOTE)
    channel.vario_sales_channel_id = "7"
    channel.save()
    SalesChannelFactory(code="zz-second", vario_sales_channel_id="7")  # saved without the admin's check
    inbox_event_store(
        source=InboxEvent.Source.VARIO_WEBHOOK,
        event="document.customer_delivery_document.order_to_delivery",
        entity_id="2044",
        payload={},
    )
    sync_queue.inbox_handoff_wait()

    inbox_events_drain(batch_size=10)

    event = InboxEvent.objects.get()
    assert event.status == InboxEvent.Status.FAILED
    assert f"several portal sales channels are linked to ({channel.code}, zz-second)" in event.last_error
    assert not OrderSync.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_ids_an_event_named_are_kept_for_the_sync(fake, channel, redis_conn):
    fake(ORDER, NOTE, shipments=[shipment("2044", "DHL", "0034")])
    channel.vario_sales_channel_id = "7"
    channel.save()
    inbox_event_store(
        source=InboxEvent.Source.VARIO_WEBHOOK, event="shipment.parcel.completed", entity_id="3301", payload={}
    )
    sync_queue.inbox_handoff_wait()

    inbox_events_drain(batch_size=10)

    assert OrderSync.objects.get().erp_refs == {"documents": ["2044"], "shipments": ["3301"]}
