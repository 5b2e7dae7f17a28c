"""The outbound plan (sync/plan.py): the facts of both sides in, what VTEX lacks out; tables and properties."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.outcomes import Conflict, NotYet
from sync.plan import (
    CancelOrder,
    OutboundFacts,
    PatchTracking,
    PostInvoice,
    PutTrackingEvents,
    RemoveItems,
    StartHandling,
    missing_carriers,
    outbound_plan,
    removal_state,
    tracking_sent_after,
)
from sync.transforms import RETURNED, CarrierInfo, erp_fulfilment_state_from
from tests.sync.builders import erp_order, follow_up, order_line, package, shipment, vtex_item, vtex_order

DHL = CarrierInfo(courier="DHL", tracking_url_template="https://dhl.example/t?id={tracking_number}")
NOW = datetime(2026, 3, 3, 12, tzinfo=UTC)


def facts(vtex, order, **kwargs) -> OutboundFacts:
    kwargs.setdefault("carriers", {"DHL": DHL})
    kwargs.setdefault("erp_state", erp_fulfilment_state_from(order, cancelled_state_keys=["CANCELLED"]))
    return OutboundFacts(order=order, vtex_order=vtex, now=NOW, **kwargs)


# --- the plan -------------------------------------------------------------------------------------


def two_item_order(status="handling", packages=()):
    return vtex_order(
        [vtex_item(0, quantity=2, price=2950), vtex_item(1, quantity=1, price=4000)],
        status=status,
        shipping=1700,
        packages=packages,
    )


def test_ready_for_handling_gets_start_handling_alone():
    plan = outbound_plan(
        facts(two_item_order("ready-for-handling"), erp_order([order_line(1, quantity=2), order_line(2)])),
        platform_status="fulfilled",
    )
    assert plan == [StartHandling()]


def test_processing_stops_after_start_handling():
    order = erp_order([order_line(1, quantity=2), order_line(2)])
    assert outbound_plan(facts(two_item_order("handling"), order), platform_status="processing") == []


def test_a_full_shipment_is_one_invoice_of_the_order_total_with_tracking():
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1)], state="DELIVERED")
    note = follow_up("2044", "LS-20044", {1: 2, 2: 1})
    plan = outbound_plan(
        facts(two_item_order(), order, delivery_notes=[note], shipments={"2044": [shipment("2044", "DHL", "0034")]}),
        platform_status="fulfilled",
    )
    [invoice] = plan
    assert isinstance(invoice, PostInvoice)
    body = invoice.invoice
    assert body["type"] == "Output" and body["invoiceNumber"] == "LS-20044"
    assert body["invoiceValue"] == str(2 * 2950 + 4000 + 1700)
    assert body["items"] == [{"id": "100", "price": 2950, "quantity": 2}, {"id": "101", "price": 4000, "quantity": 1}]
    assert (body["courier"], body["trackingNumber"]) == ("DHL", "0034")
    assert body["trackingUrl"] == "https://dhl.example/t?id=0034"
    assert body["issuanceDate"] == "2026-03-03T12:00:00+00:00"


def test_a_split_shipment_is_two_partial_invoices_that_add_up_to_the_total():
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1)], state="DELIVERED")
    first, second = follow_up("1", "LS-1", {1: 2}, date="2026-03-02"), follow_up("2", "LS-2", {2: 1})
    plan = outbound_plan(facts(two_item_order(), order, delivery_notes=[second, first]), platform_status="fulfilled")
    assert [a.invoice["invoiceNumber"] for a in plan] == ["LS-1", "LS-2"]
    assert int(plan[0].invoice["invoiceValue"]) == 2 * 2950 + 1700  # freight with the first shipment
    assert sum(int(a.invoice["invoiceValue"]) for a in plan) == two_item_order().value
    assert plan[0].invoice["trackingNumber"] == ""


def test_an_invoice_vtex_already_has_is_not_sent_again():
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2)], state="PARTIALLY_DELIVERED")
    vtex = two_item_order("invoice", packages=[package("LS-1", [(0, 2, 2950)], value=7600)])
    assert (
        outbound_plan(
            facts(vtex, order, delivery_notes=[follow_up("1", "LS-1", {1: 2})]), platform_status="partially_fulfilled"
        )
        == []
    )


def test_the_second_invoice_completes_the_total():
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1)], state="DELIVERED")
    vtex = two_item_order("invoice", packages=[package("LS-1", [(0, 2, 2950)], value=7600)])
    [invoice] = outbound_plan(
        facts(vtex, order, delivery_notes=[follow_up("1", "LS-1", {1: 2}), follow_up("2", "LS-2", {2: 1})]),
        platform_status="fulfilled",
    )
    assert int(invoice.invoice["invoiceValue"]) == vtex.value - 7600


def test_tracking_that_arrives_later_patches_the_invoice():
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1)], state="DELIVERED")
    vtex = two_item_order("invoiced", packages=[package("LS-1", [(0, 2, 2950), (1, 1, 4000)], value=11600)])
    plan = outbound_plan(
        facts(
            vtex,
            order,
            delivery_notes=[follow_up("1", "LS-1", {1: 2, 2: 1})],
            shipments={"1": [shipment("1", "DHL", "0034")]},
        ),
        platform_status="fulfilled",
    )
    assert plan == [
        PatchTracking(
            invoice_number="LS-1",
            tracking_number="0034",
            tracking_url="https://dhl.example/t?id=0034",
            courier="DHL",
            dispatched_date="2026-03-03T12:00:00+00:00",
        )
    ]


def test_cancelled_before_invoicing_cancels_with_a_note():
    order = erp_order([order_line(1, quantity=2), order_line(2)], state="CANCELLED")
    [action] = outbound_plan(facts(two_item_order("handling"), order), platform_status="cancelled")
    assert isinstance(action, CancelOrder) and "AU-1" in action.reason and "AU-1" in action.note


def test_cancelled_after_invoicing_is_a_conflict_not_a_cancel():
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2)], state="CANCELLED")
    vtex = two_item_order("invoice", packages=[package("LS-1", [(0, 2, 2950)], value=7600)])
    [action] = outbound_plan(facts(vtex, order), platform_status="cancelled")
    assert isinstance(action, Conflict) and "already" in action.message


def test_an_order_cancelled_in_vtex_gets_nothing():
    order = erp_order([order_line(1, quantity=2), order_line(2)], state="CANCELLED")
    assert outbound_plan(facts(two_item_order("canceled"), order), platform_status="cancelled") == []


def test_the_rest_closed_after_a_partial_delivery_is_removed_before_invoicing():
    order = erp_order(
        [order_line(1, quantity=2, committed=2, complete=True), order_line(2, committed=0, complete=True)],
        state="DELIVERED",
    )
    [action] = outbound_plan(
        facts(two_item_order(), order, delivery_notes=[follow_up("1", "LS-1", {1: 2})]), platform_status="fulfilled"
    )
    assert isinstance(action, RemoveItems)
    assert action.changes["remove"] == {"items": [{"id": "101", "quantity": 1, "price": 4000, "uniqueId": "U1"}]}
    assert action.changes["reason"]


def test_cancelled_lines_are_removed_but_never_what_is_invoiced():
    order = erp_order([order_line(1, quantity=2, cancelled=2), order_line(2)], state="SAVED")
    vtex = two_item_order("invoice", packages=[package("LS-1", [(0, 1, 2950)], value=4650)])
    [action] = outbound_plan(facts(vtex, order), platform_status="partially_fulfilled")
    assert action.changes["remove"] == {"items": [{"id": "100", "quantity": 1, "price": 2950, "uniqueId": "U0"}]}


def test_removal_waits_when_vtex_cannot_change_the_order():
    order = erp_order([order_line(1, quantity=2, cancelled=1), order_line(2)], state="SAVED")
    [action] = outbound_plan(facts(two_item_order("invoiced"), order), platform_status="partially_fulfilled")
    assert isinstance(action, NotYet)


def test_an_incomplete_vtex_order_cannot_be_cancelled_and_is_a_conflict():
    order = erp_order([order_line(1, quantity=2), order_line(2)], state="CANCELLED")
    [action] = outbound_plan(facts(two_item_order(""), order), platform_status="cancelled")
    assert isinstance(action, Conflict) and "incomplete" in action.message


@pytest.mark.parametrize("status", ["order-created", "start-handling"])
def test_a_cancel_waits_while_vtex_moves_the_order_by_itself(status):
    order = erp_order([order_line(1, quantity=2), order_line(2)], state="CANCELLED")
    [action] = outbound_plan(facts(two_item_order(status), order), platform_status="cancelled")
    assert isinstance(action, NotYet) and "accepts no cancellation" in action.message


def test_a_cancel_sent_is_not_sent_again_while_vtex_applies_it():
    order = erp_order([order_line(1, quantity=2), order_line(2)], state="CANCELLED")
    sent = facts(two_item_order("handling"), order, cancel_sent_at=datetime(2026, 3, 3, 11, 59, tzinfo=UTC))
    [action] = outbound_plan(sent, platform_status="cancelled")
    assert isinstance(action, NotYet)


def test_a_cancel_vtex_never_applied_is_a_conflict_after_the_confirm_time():
    order = erp_order([order_line(1, quantity=2), order_line(2)], state="CANCELLED")
    sent = facts(
        two_item_order("handling"), order, cancel_sent_at=datetime(2026, 3, 3, 11, tzinfo=UTC), confirm_seconds=900
    )
    [action] = outbound_plan(sent, platform_status="cancelled")
    assert isinstance(action, Conflict) and "retry" in action.message


def closed_rest():
    order = erp_order(
        [order_line(1, quantity=2, committed=2, complete=True), order_line(2, committed=0, complete=True)],
        state="DELIVERED",
    )
    return order, [follow_up("1", "LS-1", {1: 2})]


def test_a_removal_names_the_quantity_each_line_must_end_at():
    order, notes = closed_rest()
    [action] = outbound_plan(facts(two_item_order(), order, delivery_notes=notes), platform_status="fulfilled")
    assert action.targets == {"U1": 0}


def test_a_removal_vtex_has_not_applied_yet_is_waited_for_not_sent_again():
    order, notes = closed_rest()
    pending = facts(
        two_item_order(),  # still shows the line the removal takes away
        order,
        delivery_notes=notes,
        removal_sent_at=datetime(2026, 3, 3, 11, 59, tzinfo=UTC),
        removal_targets={"U1": 0},
    )
    assert removal_state(pending) == "waiting"
    [action] = outbound_plan(pending, platform_status="fulfilled")
    assert isinstance(action, NotYet) and "removal" in action.message


def test_a_removal_is_applied_once_vtex_shows_the_target_quantities():
    order, notes = closed_rest()
    vtex = vtex_order([vtex_item(0, quantity=2, price=2950)], status="handling", shipping=1700)
    applied = facts(
        vtex,
        order,
        delivery_notes=notes,
        removal_sent_at=datetime(2026, 3, 3, 11, 59, tzinfo=UTC),
        removal_targets={"U1": 0},
    )
    assert removal_state(applied) == "applied"


def test_a_removal_not_applied_within_the_confirm_time_has_expired():
    order, notes = closed_rest()
    stale = facts(
        two_item_order(),
        order,
        delivery_notes=notes,
        removal_sent_at=datetime(2026, 3, 3, 11, tzinfo=UTC),
        removal_targets={"U1": 0},
        confirm_seconds=900,
    )
    assert removal_state(stale) == "expired"
    [action] = outbound_plan(stale, platform_status="fulfilled")
    assert isinstance(action, Conflict) and "still not applied" in action.message


def test_a_return_becomes_an_input_invoice_once_invoiced():
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1)], state="DELIVERED")
    vtex = two_item_order(
        "invoiced", packages=[package("LS-1", [(0, 2, 2950), (1, 1, 4000)], value=11600, tracking="x")]
    )
    returned = follow_up("5120", "RT-5120", {1: 1}, category="CUSTOMER_GOODS_RETURN")
    [action] = outbound_plan(
        facts(
            vtex, order, delivery_notes=[follow_up("1", "LS-1", {1: 2, 2: 1})], returns=[returned], erp_state=RETURNED
        ),
        platform_status="refunded",
    )
    assert action.invoice["type"] == "Input" and action.invoice["invoiceNumber"] == "RT-5120"
    assert action.invoice["items"] == [{"id": "100", "price": 2950, "quantity": 1}]
    assert action.invoice["invoiceValue"] == "2950"


def test_a_return_before_full_invoicing_waits():
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2)], state="PARTIALLY_DELIVERED")
    vtex = two_item_order("invoice", packages=[package("LS-1", [(0, 2, 2950)], value=7600)])
    returned = follow_up("5120", "RT-1", {1: 1}, category="CUSTOMER_GOODS_RETURN")
    plan = outbound_plan(
        facts(vtex, order, delivery_notes=[follow_up("1", "LS-1", {1: 2})], returns=[returned], erp_state=RETURNED),
        platform_status="refunded",
    )
    assert any(isinstance(a, NotYet) for a in plan)


def test_ignored_mapping_pushes_nothing():
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1)], state="DELIVERED")
    assert (
        outbound_plan(
            facts(two_item_order(), order, delivery_notes=[follow_up("1", "LS-1", {1: 2, 2: 1})]),
            platform_status="ignored",
        )
        == []
    )


def test_unmapped_carriers_are_named():
    order = erp_order([order_line(1, committed=1)], state="DELIVERED")
    f = facts(
        vtex_order([vtex_item(0)]),
        order,
        delivery_notes=[follow_up("1", "LS-1", {1: 1})],
        shipments={"1": [shipment("1", "HERMES", "H1")]},
    )
    assert missing_carriers(f) == ["HERMES"]


def test_lines_are_matched_by_sku_when_no_line_id_was_stored():
    order = erp_order(
        [order_line(1, quantity=2, committed=2, external=""), order_line(2, committed=1, external="")],
        state="DELIVERED",
    )
    [invoice] = outbound_plan(
        facts(two_item_order(), order, delivery_notes=[follow_up("1", "LS-1", {1: 2, 2: 1})]),
        platform_status="fulfilled",
    )
    assert [i["id"] for i in invoice.invoice["items"]] == ["100", "101"]


# --- properties -----------------------------------------------------------------------------------


@st.composite
def shipping_situations(draw):
    n_items = draw(st.integers(1, 4))
    items = [vtex_item(i, quantity=draw(st.integers(1, 5)), price=draw(st.integers(1, 50_000))) for i in range(n_items)]
    vtex = vtex_order(items, shipping=draw(st.integers(0, 3000)))
    # Delivery notes with arbitrary quantities, including more than was ordered.
    notes = []
    for n in range(draw(st.integers(0, 4))):
        quantities = draw(st.dictionaries(st.integers(1, n_items), st.integers(1, 8), min_size=1))
        notes.append(follow_up(str(100 + n), f"LS-{n}", quantities, date=f"2026-03-0{n + 1}"))
    delivered = {i: 0 for i in range(n_items)}
    for note in notes:
        for line in note.lines:
            delivered[int(line.order_line.line_id) - 9001] += int(line.quantity)
    lines = [
        order_line(i + 1, quantity=items[i].quantity, committed=min(delivered[i], items[i].quantity))
        for i in range(n_items)
    ]
    return vtex, erp_order(lines), notes


def run_to_the_end(vtex, order, notes):
    """Apply every planned invoice to the VTEX order, as VTEX would, and return the packages."""
    plan = outbound_plan(facts(vtex, order, delivery_notes=notes, carriers={}), platform_status="fulfilled")
    return [a.invoice for a in plan if isinstance(a, PostInvoice)]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(shipping_situations())
def test_invoiced_quantities_never_exceed_ordered_ones(situation):
    vtex, order, notes = situation
    invoiced = {}
    for invoice in run_to_the_end(vtex, order, notes):
        for line in invoice["items"]:
            invoiced[line["id"]] = invoiced.get(line["id"], 0) + line["quantity"]
    for item in vtex.items:
        assert invoiced.get(item.sku_id, 0) <= item.quantity


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(shipping_situations())
def test_invoice_item_prices_are_the_vtex_item_prices(situation):
    vtex, order, notes = situation
    prices = {item.sku_id: item.selling_price for item in vtex.items}
    for invoice in run_to_the_end(vtex, order, notes):
        assert invoice["type"] == "Output"
        assert all(line["price"] == prices[line["id"]] and line["quantity"] > 0 for line in invoice["items"])
        assert int(invoice["invoiceValue"]) > 0


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(shipping_situations())
def test_when_everything_is_invoiced_the_invoices_add_up_to_the_order_value(situation):
    vtex, order, notes = situation
    invoices = run_to_the_end(vtex, order, notes)
    invoiced = {}
    for invoice in invoices:
        for line in invoice["items"]:
            invoiced[line["id"]] = invoiced.get(line["id"], 0) + line["quantity"]
    if all(invoiced.get(i.sku_id, 0) == i.quantity for i in vtex.items):
        assert sum(int(i["invoiceValue"]) for i in invoices) == vtex.value
    else:
        assert sum(int(i["invoiceValue"]) for i in invoices) < vtex.value
    assert len({i["invoiceNumber"] for i in invoices}) == len(invoices)


def test_a_customer_cancellation_request_is_accepted_once_the_erp_cancelled():
    order = erp_order([order_line(1, quantity=2), order_line(2)], state="CANCELLED")
    [action] = outbound_plan(facts(two_item_order("cancellation-requested"), order), platform_status="cancelled")
    assert isinstance(action, CancelOrder)


def test_a_customer_cancellation_request_holds_everything_else_back():
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1)], state="DELIVERED")
    plan = outbound_plan(
        facts(two_item_order("cancellation-requested"), order, delivery_notes=[follow_up("1", "LS-1", {1: 2, 2: 1})]),
        platform_status="fulfilled",
    )
    assert plan == []


# --- tracking events for carriers VTEX does not track -------------------------------------------------


def tracked_delivery(**kwargs):
    from sync.clients.dtos import ErpParcel, ErpShipment, ErpTrackingEvent

    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1)], state="DELIVERED")
    events = (ErpTrackingEvent(date="2026-03-02", city="Ostrava", state="MSK", description="Picked up"),)
    parcel = ErpParcel(id="4401", tracking_number="T-1", events=events)
    vtex = two_item_order(
        "invoiced", packages=[package("LS-1", [(0, 2, 2950), (1, 1, 4000)], value=11600, tracking="T-1")]
    )
    own = CarrierInfo(courier="OWN", tracking_url_template="https://own.example/{tracking_number}")
    return facts(
        vtex,
        order,
        delivery_notes=[follow_up("1", "LS-1", {1: 2, 2: 1})],
        shipments={"1": [ErpShipment(id="3301", document_id="1", carrier_key="OWN", parcels=(parcel,))]},
        carriers={"OWN": own},
        **kwargs,
    )


def test_tracking_events_vtex_lacks_are_put():
    actions = [
        a for a in outbound_plan(tracked_delivery(), platform_status="fulfilled") if isinstance(a, PutTrackingEvents)
    ]
    assert [a.status["events"][0]["city"] for a in actions] == ["Ostrava"]


def tracking_puts(facts_):
    return [a for a in outbound_plan(facts_, platform_status="fulfilled") if isinstance(a, PutTrackingEvents)]


def test_the_same_tracking_events_are_not_put_again_when_vtex_does_not_echo_them():
    [put] = tracking_puts(tracked_delivery())
    sent = tracking_sent_after({}, put)["LS-1"]

    assert tracking_puts(tracked_delivery(tracking_sent={"LS-1": sent})) == []


def with_parcel(facts_, *, events, delivered_at="", shown=()):
    """``facts_`` with its one parcel's events replaced, and VTEX showing ``shown`` on the invoice."""
    from sync.clients.dtos import ErpTrackingEvent

    [shipment] = facts_.shipments["1"]
    [parcel] = shipment.parcels
    parcel = replace(parcel, events=tuple(ErpTrackingEvent(*e) for e in events), delivered_at=delivered_at)
    [invoice] = facts_.vtex_order.packages
    invoice = replace(invoice, tracking_event_contents=tuple(shown))
    return replace(
        facts_,
        shipments={"1": [replace(shipment, parcels=(parcel,))]},
        vtex_order=replace(facts_.vtex_order, packages=(invoice,)),
    )


PICKED = ("2026-03-02", "Ostrava", "MSK", "Picked up")
HUB = ("2026-03-03", "Brno", "JHM", "At the hub")
HUB_AGAIN = ("2026-03-04", "Brno", "JHM", "At the hub")  # the same scan on another day


def test_only_the_events_vtex_lacks_are_put_because_vtex_appends_them():
    facts_ = with_parcel(tracked_delivery(), events=[PICKED, HUB], shown=[("Ostrava", "MSK", "Picked up")])

    [put] = tracking_puts(facts_)

    assert [e["city"] for e in put.status["events"]] == ["Brno"]
    assert put.status["isDelivered"] is False


def test_a_repeated_scan_is_sent_once_more_not_taken_for_the_first():
    shown = [("Ostrava", "MSK", "Picked up"), ("Brno", "JHM", "At the hub")]
    facts_ = with_parcel(tracked_delivery(), events=[PICKED, HUB, HUB_AGAIN], shown=shown)

    [put] = tracking_puts(facts_)

    assert [e["date"] for e in put.status["events"]] == ["2026-03-04"]


def test_delivery_alone_is_put_with_no_event_and_never_again():
    shown = [("Ostrava", "MSK", "Picked up")]
    facts_ = with_parcel(tracked_delivery(), events=[PICKED], delivered_at="2026-03-05T11:20:00+01:00", shown=shown)

    [put] = tracking_puts(facts_)
    assert put.status == {"isDelivered": True, "deliveredDate": "2026-03-05 11:20", "events": []}

    sent = tracking_sent_after({}, put)
    assert tracking_puts(replace(facts_, tracking_sent=sent)) == []


# --- edges the reference points at ------------------------------------------------------------------


def test_a_delivery_note_with_nothing_left_to_invoice_does_not_hold_tracking_back():
    # A note VTEX does not know (a replacement shipment of goods already invoiced) on an invoiced order.
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1)], state="DELIVERED")
    vtex = two_item_order("invoiced", packages=[package("LS-1", [(0, 2, 2950), (1, 1, 4000)], value=11600)])
    notes = [follow_up("1", "LS-1", {1: 2, 2: 1}), follow_up("2", "LS-1B", {1: 1})]

    plan = outbound_plan(
        facts(vtex, order, delivery_notes=notes, shipments={"1": [shipment("1", "DHL", "0034")]}),
        platform_status="fulfilled",
    )

    assert [type(a) for a in plan] == [PatchTracking]


def test_a_delivery_of_free_items_only_is_not_invoiced_with_a_value_of_0():
    items = [vtex_item(0, quantity=1, price=2950), vtex_item(1, quantity=1, price=0)]  # a gift
    vtex = vtex_order(items, status="invoice", shipping=500, packages=[package("LS-1", [(0, 1, 2950)], value=3450)])
    order = erp_order([order_line(1, committed=1), order_line(2)], state="PARTIALLY_DELIVERED")

    plan = outbound_plan(
        facts(vtex, order, delivery_notes=[follow_up("1", "LS-1", {1: 1}), follow_up("2", "LS-2", {2: 1})]),
        platform_status="partially_fulfilled",
    )

    assert not [a for a in plan if isinstance(a, PostInvoice)]


def test_a_line_without_unique_id_is_removed_without_an_empty_one():
    items = [replace(vtex_item(0, quantity=2, price=2950), unique_id=""), vtex_item(1, quantity=1, price=4000)]
    order = erp_order([order_line(1, quantity=2, cancelled=1), order_line(2)], state="SAVED")

    [action] = outbound_plan(facts(vtex_order(items, shipping=1700), order), platform_status="partially_fulfilled")

    assert action.changes["remove"] == {"items": [{"id": "100", "quantity": 1, "price": 2950}]}


def test_vtex_still_verifying_invoices_that_cover_everything_shipped_is_waited_for_not_done():
    # After the rest was removed, every shipped unit is invoiced, yet VTEX stays in "invoice".
    order = erp_order(
        [order_line(1, quantity=2, committed=2, complete=True), order_line(2, committed=0, complete=True)],
        state="DELIVERED",
    )
    items = [vtex_item(0, quantity=2, price=2950), vtex_item(1, quantity=0, price=4000)]
    vtex = vtex_order(items, status="invoice", shipping=1700, packages=[package("LS-1", [(0, 2, 2950)], value=7600)])

    [action] = outbound_plan(
        facts(vtex, order, delivery_notes=[follow_up("1", "LS-1", {1: 2})]), platform_status="fulfilled"
    )

    assert isinstance(action, NotYet) and "stays in 'invoice'" in action.message


def test_a_partly_shipped_order_still_open_in_the_erp_waits_for_nothing():
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2)], state="PARTIALLY_DELIVERED")
    vtex = two_item_order("invoice", packages=[package("LS-1", [(0, 2, 2950)], value=7600)])

    plan = outbound_plan(
        facts(vtex, order, delivery_notes=[follow_up("1", "LS-1", {1: 2})]), platform_status="partially_fulfilled"
    )

    assert plan == []


def test_a_tracking_digest_kept_by_an_older_version_counts_as_everything_sent():
    # What a version before 2026-11-23 kept for this parcel: a digest of the whole body it PUT.
    legacy_digest = "2c2a1b60ad60539d"
    base = with_parcel(tracked_delivery(), events=[PICKED, HUB])

    assert tracking_puts(replace(base, tracking_sent={"LS-1": legacy_digest})) == []
    assert len(tracking_puts(replace(base, tracking_sent={"LS-1": "0000000000000000"}))) == 1
