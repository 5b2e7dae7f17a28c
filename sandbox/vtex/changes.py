"""Order modifications (``/api/order-system/orders/{changeOrderId}/changes``), the ``remove`` operation.

A removal is planned first (validation, which line loses how many units) so preview and the real
change share one rule set; ``change_apply`` then writes the plan.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sandbox import clock
from sandbox.vtex import statuses as st
from sandbox.vtex.errors import OmsError, bad_request
from sandbox.vtex.models import Order, OrderChange, PackageType
from sandbox.vtex.services import _invoiced_per_line, new_hex, order_invoiced_check

SETTINGS = {
    # The history schema wants customPaymentSystemsAllowed at the top, the PATCH schema under
    # paymentConfiguration: both are present.
    "customPaymentSystemsAllowed": [],
    "paymentConfiguration": {"customPaymentSystemsAllowed": []},
    "rolloutConfiguration": {
        "usingDefaultBehavior": True,
        "enableApi": True,
        "enableAdminOrders": {"enabledWorkspaces": ["*"]},
        "enableMyOrders": {"enabledWorkspaces": ["*"]},
    },
    "pipelineConfiguration": {
        "enableTaxHubRecalculation": False,
        "compensateShippingChanges": False,
        "enablePromotionRecalculation": False,
        "enableNativeTaxRecalculation": False,
    },
}


@dataclass(frozen=True)
class ChangePlan:
    reason: str
    removed: list[dict]  # [{itemIndex, id, uniqueId, quantity, price, name}]

    @property
    def total_change_value(self) -> int:
        return -sum(r["price"] * r["quantity"] for r in self.removed)

    def remove_body(self) -> dict:
        return {
            "items": [
                {
                    "id": r["id"],
                    "uniqueId": r["uniqueId"],
                    "quantity": r["quantity"],
                    "price": r["price"],
                    "measurementUnit": "un",
                    "unitMultiplier": 1,
                }
                for r in self.removed
            ]
        }


def _partially_invoiced(order: Order) -> bool:
    invoiced = sum(p.invoice_value for p in order.packages.all() if p.type == PackageType.OUTPUT)
    return 0 < invoiced < order.value


def change_plan(*, order: Order, data) -> ChangePlan:
    if not isinstance(data, dict):
        raise bad_request("SBX-INVALID-BODY", "The body must be a JSON object")
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise bad_request("SBX-CHANGE-REASON", "reason is required")
    for operation in ("add", "replace"):
        if data.get(operation):
            raise OmsError(
                501, "SBX-NOT-IMPLEMENTED", f"The sandbox simulates only the remove operation, not {operation}"
            )
    remove = data.get("remove")
    if not isinstance(remove, dict) or not isinstance(remove.get("items"), list) or not remove["items"]:
        raise bad_request("SBX-CHANGE-OPERATION", 'Give at least one operation: "remove": {"items": [...]}')
    # Partially invoiced orders stay in "invoice" but keep their transaction open, and VTEX tells
    # merchants to remove the rest with a change (help center, "Partial invoices").
    if order.status not in st.MODIFIABLE and not (order.status == st.INVOICE and _partially_invoiced(order)):
        raise bad_request(
            "SBX-CHANGE-STATUS",
            f"Order in status {order.status} cannot be modified; allowed in handling, waiting-for-fulfillment, "
            "ready-for-invoicing (and while partially invoiced)",
        )
    taken = _invoiced_per_line(order)
    removed: list[dict] = []
    for position, item in enumerate(remove["items"]):
        removed.extend(_remove_item(order, item, position, taken))
    if sum(line["quantity"] for line in order.items) == sum(r["quantity"] for r in removed):
        raise bad_request("SBX-CHANGE-ALL", "Removing every item is a cancellation: cancel the order instead")
    return ChangePlan(reason=reason, removed=removed)


def _remove_item(order: Order, item, position: int, taken: dict[int, int]) -> list[dict]:
    if not isinstance(item, dict):
        raise bad_request("SBX-CHANGE-ITEM", f"remove.items[{position}] must be an object")
    sku, quantity, price, unique_id = item.get("id"), item.get("quantity"), item.get("price"), item.get("uniqueId")
    if not isinstance(sku, str) or not sku:
        raise bad_request("SBX-CHANGE-ITEM", f"remove.items[{position}].id is required (the SKU id, a string)")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
        raise bad_request("SBX-CHANGE-ITEM", f"remove.items[{position}].quantity must be a positive integer")
    if price is not None and (not isinstance(price, int) or isinstance(price, bool)):
        raise bad_request("SBX-CHANGE-ITEM", f"remove.items[{position}].price must be in cents")
    candidates = [
        (index, line)
        for index, line in enumerate(order.items)
        if line["id"] == sku
        and (unique_id is None or line["uniqueId"] == unique_id)
        and (price is None or line["sellingPrice"] == price)
    ]
    if not candidates:
        raise bad_request(
            "SBX-CHANGE-ITEM", f"remove.items[{position}]: no line of SKU {sku} matches (uniqueId/price) on the order"
        )
    left, planned = quantity, []
    for index, line in candidates:
        share = min(left, line["quantity"] - taken[index])
        if share <= 0:
            continue
        taken[index] += share
        left -= share
        planned.append(
            {
                "itemIndex": index,
                "id": sku,
                "uniqueId": line["uniqueId"],
                "quantity": share,
                "price": line["sellingPrice"],
                "name": line["name"],
            }
        )
        if not left:
            break
    if left:
        raise bad_request(
            "SBX-CHANGE-QUANTITY",
            f"remove.items[{position}]: cannot remove {quantity} of SKU {sku}; only "
            f"{quantity - left} are on the order and not yet invoiced",
        )
    return planned


def totals_after(order: Order, plan: ChangePlan | None = None) -> list[dict]:
    quantities = [line["quantity"] for line in order.items]
    for r in plan.removed if plan else []:
        quantities[r["itemIndex"]] -= r["quantity"]
    items = sum(line["price"] * q for line, q in zip(order.items, quantities, strict=True))
    selling = sum(line["sellingPrice"] * q for line, q in zip(order.items, quantities, strict=True))
    return [
        {"id": "Items", "name": "Total dos Itens", "value": items},
        {"id": "Discounts", "name": "Total dos Descontos", "value": selling - items},
        {"id": "Shipping", "name": "Total do Frete", "value": order.shipping_value},
        {"id": "Tax", "name": "Total da Taxa", "value": 0},
    ]


def change_body(*, order: Order, plan: ChangePlan, request_id: str, workflow_id: str, date, totals: list) -> dict:
    return {
        "requestId": request_id,
        "workflowId": workflow_id,
        "reason": plan.reason,
        "manualDiscountValue": 0,
        "manualIncrementValue": 0,
        "totalChangeValue": plan.total_change_value,
        "totals": totals,
        "add": None,
        "remove": plan.remove_body(),
        "replace": [],
        "date": date.isoformat(timespec="microseconds"),
        "origin": {"account": order.account.account_name, "orderId": order.order_id, "component": "OrderSystem"},
        "settings": SETTINGS,
    }


def change_preview(*, order: Order, data) -> dict:
    plan = change_plan(order=order, data=data)
    body = change_body(
        order=order, plan=plan, request_id="", workflow_id="", date=clock.now(), totals=totals_after(order, plan)
    )
    del body["requestId"], body["workflowId"]
    return body


def change_apply(*, order: Order, data) -> dict:
    """Apply a removal: lines shrink, the order value with them; a fully invoiced order becomes invoiced."""
    plan = change_plan(order=order, data=data)
    totals = totals_after(order, plan)
    lines = [dict(line) for line in order.items]
    for r in plan.removed:
        lines[r["itemIndex"]]["quantity"] -= r["quantity"]
    order.items = lines
    order.save()
    change = OrderChange.objects.create(
        order=order,
        request_id=str(uuid.uuid4()),
        workflow_id=str(uuid.uuid4()),
        reason=plan.reason,
        remove=plan.remove_body(),
        items_removed=plan.removed,
        total_change_value=plan.total_change_value,
        totals=totals,
        receipt=new_hex(),
        date=clock.now(),
    )
    order_invoiced_check(order=order)
    # 202 = accepted: VTEX recalculates totals in its workflow; they show in the history.
    return change_body(
        order=order,
        plan=plan,
        request_id=change.request_id,
        workflow_id=change.workflow_id,
        date=change.date,
        totals=[],
    )


def change_history_entry(change: OrderChange) -> dict:
    plan = ChangePlan(reason=change.reason, removed=change.items_removed)
    return change_body(
        order=change.order,
        plan=plan,
        request_id=change.request_id,
        workflow_id=change.workflow_id,
        date=change.date,
        totals=change.totals,
    )
