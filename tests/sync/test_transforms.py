"""The pure ERP readings and VTEX payloads (sync/transforms.py); the plan's tests are in test_plan.py."""

import pytest

from sync import transforms as t
from sync.transforms import erp_fulfilment_state_from, invoice_number_from
from tests.sync.builders import erp_order, follow_up, order_line

# --- fulfilment state -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "state", "expected"),
    [
        ([order_line(1, quantity=2)], "SAVED", t.CONFIRMED),
        ([order_line(1, quantity=2, committed=1)], "PARTIALLY_DELIVERED", t.PARTIALLY_SHIPPED),
        ([order_line(1, quantity=2, committed=2)], "DELIVERED", t.FULLY_SHIPPED),
        ([order_line(1, quantity=2, committed=1, complete=True)], "DELIVERED", t.FULLY_SHIPPED),
        ([order_line(1, quantity=2)], "CANCELLED", t.CANCELLED),
    ],
)
def test_fulfilment_state_follows_quantities_and_cancelled_keys(lines, state, expected):
    assert erp_fulfilment_state_from(erp_order(lines, state=state), cancelled_state_keys=["CANCELLED"]) == expected


def test_a_goods_return_makes_the_order_returned():
    order = erp_order([order_line(1, committed=1)], state="DELIVERED")
    returned = follow_up("5120", "RT-1", {1: 1}, category="CUSTOMER_GOODS_RETURN")
    assert erp_fulfilment_state_from(order, cancelled_state_keys=[], returns=[returned]) == t.RETURNED


def test_dissolve_counts_as_cancelled_only_when_nothing_was_delivered():
    untouched = erp_order([order_line(1)], state="SAVED")
    started = erp_order([order_line(1, quantity=2, committed=1)], state="PARTIALLY_DELIVERED")
    assert erp_fulfilment_state_from(untouched, cancelled_state_keys=[], dissolved=True) == t.CANCELLED
    assert erp_fulfilment_state_from(started, cancelled_state_keys=[], dissolved=True) == t.PARTIALLY_SHIPPED


def test_tenant_specific_cancelled_keys_are_honoured():
    order = erp_order([order_line(1)], state="STORNIERT")
    assert erp_fulfilment_state_from(order, cancelled_state_keys=["STORNIERT"]) == t.CANCELLED
    assert erp_fulfilment_state_from(order, cancelled_state_keys=["CANCELLED"]) == t.CONFIRMED


# --- invoice numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["LS-20044", "INV2026000123", "A-1"])
def test_safe_invoice_numbers_are_kept(number):
    assert invoice_number_from(number) == number


@pytest.mark.parametrize("number", ["LS 20044", "LS/2026/44", "#123456", "LS-44#", "Lieferschein Nr. 7", "///"])
def test_unsafe_invoice_numbers_become_safe_and_distinct(number):
    safe = invoice_number_from(number)
    assert safe and all(c.isalnum() or c == "-" for c in safe)
    assert not safe.startswith("-") and not safe.endswith("-")


def test_two_numbers_that_clean_up_alike_stay_distinct():
    assert invoice_number_from("LS 1") != invoice_number_from("LS/1")


@pytest.mark.parametrize(
    ("delivered_at", "expected"),
    [
        ("2026-03-05T11:20:59Z", "2026-03-05 11:20"),
        ("2026-03-05T11:20:00+02:00", "2026-03-05 11:20"),  # the carrier's wall-clock time
        ("2026-03-05", "2026-03-05 00:00"),
        ("", None),
        ("yesterday", None),
    ],
)
def test_the_delivered_date_is_what_vtex_accepts(delivered_at, expected):
    assert t.delivered_date_from(delivered_at) == expected


def test_the_erp_ids_events_named_are_kept_once_each_newest_last(monkeypatch):
    monkeypatch.setattr(t, "ERP_REFS_MAX", 3)
    refs = {}
    for document in ("20", "21", "20", "22", "23"):
        refs = t.erp_refs_with(refs, documents=document, shipments="")
    assert refs == {"documents": ["21", "22", "23"]}
    assert t.erp_refs_with(refs, shipments="33") == {"documents": ["21", "22", "23"], "shipments": ["33"]}
