"""One order's reconciliation (sync/bulk/compare.py): each difference by kind, and whether the sync repairs it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mappings.services import DEFAULT_STATUS_MAPPINGS
from sync.bulk.compare import Difference, DifferenceKind, order_differences
from sync.plan import OutboundFacts
from sync.transforms import RETURNED, CarrierInfo, erp_fulfilment_state_from
from tests.sync.builders import erp_order, follow_up, order_line, package, shipment, vtex_item, vtex_order
from tests.sync.test_plan_orderings import SETTLE_RUNS, Portal, VtexModel, histories

DHL = CarrierInfo(courier="DHL", tracking_url_template="https://dhl.example/t?id={tracking_number}")
NOW = datetime(2026, 3, 3, 12, tzinfo=UTC)


def facts(vtex, order, **kwargs) -> OutboundFacts:
    kwargs.setdefault("carriers", {"DHL": DHL})
    kwargs.setdefault("erp_state", erp_fulfilment_state_from(order, cancelled_state_keys=["CANCELLED"]))
    return OutboundFacts(order=order, vtex_order=vtex, now=NOW, **kwargs)


def two_item_order(status="handling", packages=()):
    return vtex_order(
        [vtex_item(0, quantity=2, price=2950), vtex_item(1, quantity=1, price=4000)],
        status=status,
        shipping=1700,
        packages=packages,
    )


def shipped_order(state="DELIVERED"):
    return erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1)], state=state)


FULL_INVOICE = replace(package("LS-1", [(0, 2, 2950), (1, 1, 4000)], value=11600, tracking="0034"), courier="DHL")
FULL_NOTE = follow_up("1", "LS-1", {1: 2, 2: 1})
DHL_PARCEL = {"1": [shipment("1", "DHL", "0034")]}


def by_kind(differences: list[Difference]) -> dict[str, Difference]:
    assert len({d.kind for d in differences}) == len(differences), differences
    return {d.kind: d for d in differences}


# --- an order both sides agree on --------------------------------------------------------------------


def test_an_order_synced_to_the_end_has_no_difference():
    vtex = two_item_order("invoiced", packages=[FULL_INVOICE])

    f = facts(vtex, shipped_order(), delivery_notes=[FULL_NOTE], shipments=DHL_PARCEL)

    assert order_differences(f, platform_status="fulfilled") == []


# --- status and invoices ----------------------------------------------------------------------------


def test_a_delivery_vtex_was_never_told_of_is_a_missing_invoice_and_a_status_both_repairable():
    f = facts(two_item_order("handling"), shipped_order(), delivery_notes=[FULL_NOTE], shipments=DHL_PARCEL)

    found = by_kind(order_differences(f, platform_status="fulfilled"))

    assert set(found) == {"status", "invoice_missing"}
    assert all(d.repairable for d in found.values())
    missing = found["invoice_missing"]
    assert (missing.subject, missing.erp, missing.vtex) == (
        "LS-1",
        "delivery note LS-1: 2 × SKU 100, 1 × SKU 101",
        "no invoice LS-1",
    )
    assert found["status"].vtex == "handling" and "'invoiced'" in found["status"].title


def test_an_order_vtex_has_not_handled_yet_is_repaired_by_start_handling():
    order = erp_order([order_line(1, quantity=2), order_line(2)])

    [status] = order_differences(facts(two_item_order("ready-for-handling"), order), platform_status="processing")

    assert (status.kind, status.repairable, status.vtex) == ("status", True, "ready-for-handling")


def test_a_vtex_invoice_no_erp_document_has_is_unknown_and_not_repairable():
    order = erp_order([order_line(1, quantity=2), order_line(2)])
    vtex = two_item_order("invoice", packages=[package("NF-77", [(0, 1, 2950)], value=4650)])

    found = by_kind(order_differences(facts(vtex, order), platform_status="processing"))

    unknown = found["invoice_unknown"]
    assert not unknown.repairable and unknown.subject == "NF-77"
    assert "entered in VTEX by hand" in unknown.title
    assert unknown.vtex == "invoice NF-77: 1 × SKU 100, 46.50"
    # VTEX is further along than the ERP (handled): the sync never takes it back.
    assert not found["status"].repairable and "further along" in found["status"].title


def test_an_invoice_with_other_items_than_its_delivery_note_is_a_mismatch_the_sync_never_changes():
    vtex = two_item_order("invoiced", packages=[package("LS-1", [(0, 2, 2950)], value=11600, tracking="0034")])

    found = by_kind(
        order_differences(facts(vtex, shipped_order(), delivery_notes=[FULL_NOTE]), platform_status="fulfilled")
    )

    mismatch = found["invoice_mismatch"]
    assert (
        not mismatch.repairable
        and "the items differ" in mismatch.title
        and "never changes an invoice" in mismatch.title
    )
    assert mismatch.erp == "delivery note LS-1: 2 × SKU 100, 1 × SKU 101"
    assert mismatch.vtex == "invoice LS-1: 2 × SKU 100, 116.00"


def test_a_return_invoice_of_another_value_than_its_items_is_a_mismatch():
    returned = follow_up("5", "RT-5", {1: 1}, category="CUSTOMER_GOODS_RETURN")
    vtex = two_item_order(
        "invoiced", packages=[FULL_INVOICE, package("RT-5", [(0, 1, 2950)], value=2000, type_="Input")]
    )

    [mismatch] = order_differences(
        facts(
            vtex,
            shipped_order(),
            delivery_notes=[FULL_NOTE],
            shipments=DHL_PARCEL,
            returns=[returned],
            erp_state=RETURNED,
        ),
        platform_status="refunded",
    )

    assert mismatch.kind == "invoice_mismatch" and not mismatch.repairable
    assert "the value differs (29.50 in the ERP, 20.00 in VTEX)" in mismatch.title


def test_an_order_vtex_keeps_verifying_is_a_status_difference_the_sync_only_waits_on():
    # Everything shipped is invoiced, yet the invoices do not reach the order value: VTEX stays in "invoice".
    vtex = two_item_order("invoice", packages=[replace(FULL_INVOICE, invoice_value=11000)])

    [status] = order_differences(
        facts(vtex, shipped_order(), delivery_notes=[FULL_NOTE], shipments=DHL_PARCEL), platform_status="fulfilled"
    )

    assert status.kind == "status" and not status.repairable
    assert "VTEX is not ready for it" in status.title and "stays in 'invoice'" in status.title


# --- items -------------------------------------------------------------------------------------------


def test_the_rest_closed_in_the_erp_is_removed_and_then_invoiced_all_repairable():
    # The plan's removal is a barrier: the invoice comes only in the next round, which the comparison looks at too.
    order = erp_order(
        [order_line(1, quantity=2, committed=2, complete=True), order_line(2, committed=0, complete=True)],
        state="DELIVERED",
    )

    found = by_kind(
        order_differences(
            facts(two_item_order(), order, delivery_notes=[follow_up("1", "LS-1", {1: 2})]), platform_status="fulfilled"
        )
    )

    assert set(found) == {"status", "items", "invoice_missing"}
    assert all(d.repairable for d in found.values())
    assert (found["items"].subject, found["items"].erp, found["items"].vtex) == ("U1", "0 × SKU 101", "1 × SKU 101")


def test_a_line_cancelled_before_anything_is_delivered_waits_for_the_first_delivery():
    order = erp_order([order_line(1, quantity=2, cancelled=1), order_line(2)])

    [items] = order_differences(facts(two_item_order(), order), platform_status="processing")

    assert items.kind == "items" and not items.repairable
    assert "'processing'" in items.title and "until the ERP delivers" in items.title


def test_vtex_invoiced_more_than_the_erp_delivers_is_not_repairable():
    order = erp_order(
        [order_line(1, quantity=2, committed=1, complete=True), order_line(2, committed=1)], state="DELIVERED"
    )
    vtex = two_item_order("invoiced", packages=[FULL_INVOICE])

    found = by_kind(order_differences(facts(vtex, order, delivery_notes=[FULL_NOTE]), platform_status="fulfilled"))

    assert not found["items"].repairable and "never removes invoiced units" in found["items"].title


def test_an_erp_order_with_more_than_vtex_ordered_is_not_repairable():
    order = erp_order([order_line(1, quantity=3), order_line(2)])

    [items] = order_differences(facts(two_item_order(), order), platform_status="processing")

    assert (items.erp, items.vtex, items.repairable) == ("3 × SKU 100", "2 × SKU 100", False)
    assert "never adds items" in items.title


def test_an_erp_line_that_matches_no_vtex_item_makes_nothing_repairable():
    stray = replace(order_line(3), article_number="SKU-X", external_item_id="U9")
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1), stray], state="SAVED")

    differences = order_differences(
        facts(two_item_order(), order, delivery_notes=[FULL_NOTE]), platform_status="partially_fulfilled"
    )

    assert {d.kind for d in differences} >= {"items", "invoice_missing"}
    assert not any(d.repairable for d in differences)
    assert any("matches no single VTEX item" in d.title for d in differences)


# --- tracking ----------------------------------------------------------------------------------------


def test_tracking_vtex_lacks_is_repairable():
    vtex = two_item_order("invoiced", packages=[replace(FULL_INVOICE, tracking_number="")])

    [tracking] = order_differences(
        facts(vtex, shipped_order(), delivery_notes=[FULL_NOTE], shipments=DHL_PARCEL), platform_status="fulfilled"
    )

    assert (tracking.kind, tracking.subject, tracking.erp, tracking.vtex) == (
        "tracking",
        "LS-1",
        "DHL 0034",
        "no tracking",
    )
    assert tracking.repairable


def test_tracking_the_channel_does_not_sync_is_reported_but_not_repairable():
    vtex = two_item_order("invoiced", packages=[replace(FULL_INVOICE, tracking_number="")])

    [tracking] = order_differences(
        facts(vtex, shipped_order(), delivery_notes=[FULL_NOTE], shipments=DHL_PARCEL, push_tracking=False),
        platform_status="fulfilled",
    )

    assert tracking.kind == "tracking" and not tracking.repairable
    assert "does not sync tracking (its transfer toggle is off)" in tracking.title


def test_another_tracking_number_in_vtex_is_not_repairable():
    vtex = two_item_order("invoiced", packages=[replace(FULL_INVOICE, tracking_number="9999")])

    [tracking] = order_differences(
        facts(vtex, shipped_order(), delivery_notes=[FULL_NOTE], shipments=DHL_PARCEL), platform_status="fulfilled"
    )

    assert (tracking.vtex, tracking.repairable) == ("DHL 9999", False)
    assert "only to an invoice that has none" in tracking.title


# --- cancellation ---------------------------------------------------------------------------------------


def cancelled_order():
    return erp_order([order_line(1, quantity=2), order_line(2)], state="CANCELLED")


def test_an_erp_cancellation_vtex_lacks_is_repairable():
    [cancellation] = order_differences(facts(two_item_order(), cancelled_order()), platform_status="cancelled")

    assert (cancellation.kind, cancellation.repairable, cancellation.vtex) == ("cancellation", True, "handling")
    assert cancellation.erp == "cancelled (ERP state CANCELLED)"


def test_an_erp_cancellation_the_channel_does_not_sync_is_not_repairable():
    [cancellation] = order_differences(
        facts(two_item_order(), cancelled_order(), push_cancellation=False), platform_status="cancelled"
    )

    assert not cancellation.repairable and "does not sync cancellations" in cancellation.title


def test_an_erp_cancellation_of_an_invoiced_order_is_the_plans_conflict():
    vtex = two_item_order("invoice", packages=[package("LS-1", [(0, 2, 2950)], value=7600)])

    [cancellation] = order_differences(facts(vtex, cancelled_order()), platform_status="cancelled")

    assert not cancellation.repairable
    assert "conflict for a person" in cancellation.title and "already (partly) invoiced" in cancellation.title


def test_a_vtex_cancellation_the_erp_does_not_share_is_not_repairable():
    [cancellation] = order_differences(facts(two_item_order("canceled"), shipped_order()), platform_status="fulfilled")

    assert cancellation.kind == "cancellation" and not cancellation.repairable
    assert "never reopens" in cancellation.title


def test_both_sides_cancelled_agree():
    assert order_differences(facts(two_item_order("canceled"), cancelled_order()), platform_status="cancelled") == []


# --- return invoices ----------------------------------------------------------------------------------


RETURN = follow_up("5", "RT-5", {1: 1}, category="CUSTOMER_GOODS_RETURN")


def returned_facts(vtex, **kwargs):
    return facts(
        vtex,
        shipped_order(),
        delivery_notes=[FULL_NOTE],
        returns=[RETURN],
        erp_state=RETURNED,
        shipments=DHL_PARCEL,
        **kwargs,
    )


def test_a_goods_return_vtex_lacks_is_repairable():
    vtex = two_item_order("invoiced", packages=[FULL_INVOICE])

    [missing] = order_differences(returned_facts(vtex), platform_status="refunded")

    assert (missing.kind, missing.subject, missing.repairable) == ("return_invoice", "RT-5", True)
    assert missing.erp == "goods return RT-5: 1 × SKU 100"


def test_a_goods_return_the_channel_does_not_sync_is_not_repairable():
    vtex = two_item_order("invoiced", packages=[FULL_INVOICE])

    [missing] = order_differences(returned_facts(vtex, push_returns=False), platform_status="refunded")

    assert not missing.repairable and "does not sync return invoices" in missing.title


def test_a_return_behind_the_invoice_the_sync_sends_first_is_repairable_too():
    # The sale invoice goes first; VTEX, invoiced then, takes the return in the next round.
    found = by_kind(order_differences(returned_facts(two_item_order("handling")), platform_status="refunded"))

    assert set(found) == {"status", "invoice_missing", "return_invoice"}
    assert all(d.repairable for d in found.values())


def test_a_return_the_sync_waits_for_until_its_last_invoice_is_in_is_repairable():
    # Round 1 sends the last sale invoice, then "not yet" for the return (VTEX is only partly invoiced); the
    # runner tries again and the return goes out. A "not yet" after progress does not end the repair.
    vtex = two_item_order("invoice", packages=[package("LS-1", [(0, 2, 2950)], value=7600)])
    notes = [follow_up("1", "LS-1", {1: 2}), follow_up("2", "LS-2", {2: 1})]
    f = facts(vtex, shipped_order(), delivery_notes=notes, returns=[RETURN], erp_state=RETURNED)

    found = by_kind(order_differences(f, platform_status="refunded"))

    assert set(found) == {"invoice_missing", "return_invoice"}
    assert all(d.repairable for d in found.values())


def test_a_return_vtex_is_not_ready_for_is_not_repairable_and_says_so():
    # The ERP still delivers the rest: VTEX stays partly invoiced, and takes no return invoice before "invoiced".
    order = erp_order([order_line(1, quantity=2, committed=2), order_line(2)], state="PARTIALLY_DELIVERED")
    vtex = two_item_order("invoice", packages=[package("LS-1", [(0, 2, 2950)], value=7600)])
    f = facts(vtex, order, delivery_notes=[follow_up("1", "LS-1", {1: 2})], returns=[RETURN], erp_state=RETURNED)

    [missing] = order_differences(f, platform_status="refunded")

    assert missing.kind == "return_invoice" and not missing.repairable
    assert "VTEX is not ready for it: return RT-5: VTEX order 1-01 is not invoiced yet" in missing.title


def test_a_return_mapped_to_something_else_than_refunded_is_not_repairable():
    vtex = two_item_order("invoiced", packages=[FULL_INVOICE])

    [missing] = order_differences(returned_facts(vtex), platform_status="fulfilled")

    assert not missing.repairable and "only for 'refunded'" in missing.title


def test_an_ignored_mapping_reports_every_difference_and_repairs_none():
    differences = order_differences(
        facts(two_item_order("handling"), shipped_order(), delivery_notes=[FULL_NOTE]), platform_status="ignored"
    )

    assert [d.kind for d in differences] == ["invoice_missing"]
    assert not differences[0].repairable and "'ignored'" in differences[0].title


# --- properties: repairable exactly when the sync repairs it ---------------------------------------------


def play_some(history, kept):
    """The order synced by the webhooks that arrived (``kept``), each run reading the ERP as it was then;
    the others were lost. Then VTEX applies what it accepted."""
    vtex = VtexModel(prices=history.prices, quantities=list(history.quantities), shipping=history.shipping)
    portal = Portal()
    for webhook, keep in zip(history.webhooks, kept, strict=True):
        if keep:
            state = history.states[webhook.step]
            portal.note(webhook, state)
            vtex.tick()
            portal.run(state, vtex, visibility="query")
    vtex.tick()
    return vtex, portal


def reconciled(history, vtex, portal) -> list[Difference]:
    f = portal.facts(history.states[-1], vtex, visibility="query")
    return order_differences(f, platform_status=str(DEFAULT_STATUS_MAPPINGS[f.erp_state]))


def repair(history, vtex, portal) -> None:
    """What a repair runs: the normal sync on the ERP as it is now, until VTEX is at rest (runner retries)."""
    for _ in range(SETTLE_RUNS):
        vtex.tick()
        if portal.run(history.states[-1], vtex, visibility="query") != "wait" and not vtex.asynchronous:
            break
    vtex.tick()


@st.composite
def lost_webhooks(draw):
    history = draw(histories())
    kept = draw(st.lists(st.booleans(), min_size=len(history.webhooks), max_size=len(history.webhooks)))
    return history, kept


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lost_webhooks())
def test_a_difference_is_repairable_exactly_when_the_sync_removes_it(situation):
    """Against the VTEX model of the orderings test (it refuses what VTEX refuses), not the comparison's own."""
    history, kept = situation
    vtex, portal = play_some(history, kept)
    before = reconciled(history, vtex, portal)

    repair(history, vtex, portal)
    left = {(d.kind, d.subject) for d in reconciled(history, vtex, portal)}

    for difference in before:
        event(f"{difference.kind} {'repairable' if difference.repairable else 'left'}")
        assert difference.kind in set(DifferenceKind)
        key = (difference.kind, difference.subject)
        if difference.repairable:
            assert key not in left, f"{history.steps} kept {kept}: {difference} is still there after the repair"
        else:
            assert key in left, f"{history.steps} kept {kept}: {difference} was repaired"
            assert difference.title.count(". ") >= 1, difference  # says why, and what to check


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_after_every_webhook_arrived_nothing_is_left_to_repair(history):
    vtex, portal = play_some(history, [True] * len(history.webhooks))
    repair(history, vtex, portal)  # the runner's own retries of runs that waited

    differences = reconciled(history, vtex, portal)

    for difference in differences:
        event(f"left after a full sync: {difference.kind}")
    assert not any(d.repairable for d in differences), differences
