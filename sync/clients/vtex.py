"""VTEX client: the OMS, feed/hook, order modifications, DO notes and the Channel Order API.

Paths and bodies follow reference/vtex.md and the official OpenAPI files; every body built here is
validated against them in tests. Invoice numbers go into paths URL-encoded, but callers must not
send numbers VTEX chokes on (spaces, '/', '#'): see ``sync.transforms.invoice_number_from``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.views.decorators.debug import sensitive_variables

from sync.clients.dtos import ChannelOrderResult, FeedConfig, FeedItem, VtexOrder, VtexOrderList, VtexReceipt
from sync.clients.errors import NotFoundError
from sync.clients.http import HttpClient, Recorder
from sync.clients.limiter import RemoteLimiter

MAX_FEED_LOT = 10  # VTEX's maximum maxlot
# List orders: "the limit of information retrieval is 30 pages", per_page "goes up to 100" (OpenAPI
# orders-api.json, GET /api/oms/pvt/orders; reference/vtex.md §1.6).
MAX_LIST_PAGES = 30
MAX_LIST_PER_PAGE = 100
_MILLISECOND = timedelta(milliseconds=1)


def list_orders_timestamp(moment: datetime, *, round_up: bool = False) -> str:
    """``2022-01-01T02:00:00.000Z``: the UTC, millisecond form of the spec's f_creationDate example.

    Rounded down, or up with ``round_up``, to the millisecond, so a range written with a rounded-down
    start and a rounded-up end covers every moment of the range asked for."""
    if moment.tzinfo is None:
        raise ValueError("List orders needs aware datetimes (VTEX compares UTC timestamps)")
    moment = moment.astimezone(UTC)
    floor = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    if round_up and floor != moment:
        floor += _MILLISECOND
    return floor.strftime("%Y-%m-%dT%H:%M:%S.") + f"{floor.microsecond // 1000:03d}Z"


def vtex_error(body: Any) -> tuple[str, str]:
    """VTEX OMS errors: {"error": {"code", "message"}}; the Channel Order API: {code, message, errors}."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            return str(error.get("code") or ""), str(error.get("message") or "")
        if "code" in body or "message" in body:
            return str(body.get("code") or ""), str(body.get("message") or body.get("Message") or "")
    if isinstance(body, str):
        return "", body[:500]
    return "", ""


@dataclass(frozen=True)
class VtexCredentials:
    account_name: str
    base_url: str
    app_key: str
    app_token: str

    def __repr__(self) -> str:  # never print the token
        return f"VtexCredentials(account_name={self.account_name!r}, base_url={self.base_url!r})"


class VtexApiClient:
    """What every VTEX client shares: one ``HttpClient`` with VTEX's auth headers (reference/vtex.md §0;
    catalog-sync.md §1.1: the same app key and token for Catalog, Logistics and Pricing), ``Accept`` and
    ``Content-Type: application/json``, VTEX's error shape. Each API has its own base URL (Pricing lives
    on ``api.vtex.com``), so each client gets the one it calls."""

    remote = "vtex"

    @sensitive_variables("credentials")
    def __init__(
        self,
        *,
        credentials: VtexCredentials,
        timeout: tuple[float, float],
        limiter: RemoteLimiter | None = None,
        recorder: Recorder | None = None,
        session=None,
        retry_after_default: float = 60.0,
        backoff_429_base: float | None = None,
    ) -> None:
        self.account_name = credentials.account_name
        self.http = HttpClient(
            remote=self.remote,
            base_url=credentials.base_url,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "X-VTEX-API-AppKey": credentials.app_key,
                "X-VTEX-API-AppToken": credentials.app_token,
            },
            timeout=timeout,
            error_reader=vtex_error,
            limiter=limiter,
            recorder=recorder,
            session=session,
            retry_after_default=retry_after_default,
            backoff_429_base=backoff_429_base,
        )

    def close(self) -> None:
        """Close the pooled connections (callers that make a client for a batch of work)."""
        self.http.close()


class VtexClient(VtexApiClient):
    """The OMS: orders, invoices, tracking, changes, the feed and the hook, the Channel Order API."""

    # --- Orders ---------------------------------------------------------------------------------

    def get_order(self, order_id: str) -> VtexOrder:
        path = f"/api/oms/pvt/orders/{quote(order_id, safe='')}"
        data = self.http.request_json("GET", path, route="get_order")
        return self.http.parse(VtexOrder.from_json, data, "GET", path)

    def list_orders(
        self,
        *,
        creation_from: datetime,
        creation_to: datetime,
        statuses: Sequence[str] = (),
        page: int = 1,
        per_page: int = MAX_LIST_PER_PAGE,
    ) -> VtexOrderList:
        """One page of List orders created in [creation_from, creation_to], oldest first.

        VTEX's range ``creationDate:[from TO to]`` includes both ends; it is sent in milliseconds, the
        start rounded down and the end up, so it covers the range asked for and perhaps a moment more:
        a caller that wants a half-open range drops the rows outside it (``sync.bulk.vtex_scan`` does).
        Ascending by creation date, so the orders a page shows do not move when newer ones arrive.
        VTEX serves at most 30 pages (``MAX_LIST_PAGES``); ``paging.total`` counts them all. The list
        lags the orders by about four minutes of indexing (reference/vtex.md §1.6).
        """
        if not 1 <= page <= MAX_LIST_PAGES:
            raise ValueError(f"page must be between 1 and {MAX_LIST_PAGES} (VTEX serves no further page)")
        if not 1 <= per_page <= MAX_LIST_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_LIST_PER_PAGE}")
        if any(not status or "," in status for status in statuses):
            raise ValueError("statuses are non-empty VTEX status names (f_status is a comma-separated list)")
        start = list_orders_timestamp(creation_from)
        end = list_orders_timestamp(creation_to, round_up=True)
        if creation_to < creation_from:
            raise ValueError("creation_to lies before creation_from")
        params = {"f_creationDate": f"creationDate:[{start} TO {end}]"}
        if statuses:
            params["f_status"] = ",".join(statuses)
        params.update({"orderBy": "creationDate,asc", "page": page, "per_page": per_page})
        path = "/api/oms/pvt/orders"
        data = self.http.request_json("GET", path, route="list_orders", params=params)
        return self.http.parse(VtexOrderList.from_json, data, "GET", path)

    def start_handling(self, order_id: str) -> None:
        self.http.request(
            "POST", f"/api/oms/pvt/orders/{quote(order_id, safe='')}/start-handling", route="start_handling"
        )

    def cancel_order(self, order_id: str, *, reason: str, requested_by_user: bool = False) -> VtexReceipt:
        path = f"/api/oms/pvt/orders/{quote(order_id, safe='')}/cancel"
        data = self.http.request_json(
            "POST", path, route="cancel", json_body={"reason": reason, "requestedByUser": requested_by_user}
        )
        return self.http.parse(VtexReceipt.from_json, data, "POST", path)

    def notify_invoice(self, order_id: str, invoice: Mapping[str, Any]) -> VtexReceipt:
        path = f"/api/oms/pvt/orders/{quote(order_id, safe='')}/invoice"
        data = self.http.request_json("POST", path, route="invoice", json_body=dict(invoice))
        return self.http.parse(VtexReceipt.from_json, data, "POST", path)

    def update_invoice_tracking(
        self,
        order_id: str,
        invoice_number: str,
        *,
        tracking_number: str,
        tracking_url: str | None,
        courier: str | None,
        dispatched_date: str | None,
    ) -> VtexReceipt:
        path = f"/api/oms/pvt/orders/{quote(order_id, safe='')}/invoice/{quote(invoice_number, safe='')}"
        body = {
            "trackingNumber": tracking_number,
            "trackingUrl": tracking_url,
            "courier": courier,
            "dispatchedDate": dispatched_date,
        }
        data = self.http.request_json("PATCH", path, route="tracking", json_body=body)
        return self.http.parse(VtexReceipt.from_json, data, "PATCH", path)

    def update_tracking_status(self, order_id: str, invoice_number: str, status: Mapping[str, Any]) -> VtexReceipt:
        path = f"/api/oms/pvt/orders/{quote(order_id, safe='')}/invoice/{quote(invoice_number, safe='')}/tracking"
        data = self.http.request_json("PUT", path, route="tracking", json_body=dict(status))
        return self.http.parse(VtexReceipt.from_json, data, "PUT", path)

    def create_order_changes(self, order_id: str, changes: Mapping[str, Any]) -> Mapping[str, Any]:
        """PATCH …/changes (202): order modifications such as removing items."""
        path = f"/api/order-system/orders/{quote(order_id, safe='')}/changes"
        return (
            self.http.request_json(
                "PATCH", path, route="changes", json_body=dict(changes), params={"accountName": self.account_name}
            )
            or {}
        )

    def preview_order_changes(self, order_id: str, changes: Mapping[str, Any]) -> Mapping[str, Any]:
        path = f"/api/order-system/orders/{quote(order_id, safe='')}/changes/preview"
        return (
            self.http.request_json(
                "POST", path, route="changes", json_body=dict(changes), params={"accountName": self.account_name}
            )
            or {}
        )

    def create_note(self, order_id: str, description: str) -> Mapping[str, Any]:
        body = {
            "target": {"id": order_id, "type": "order", "url": f"/orders/{order_id}"},
            "domain": "oms",
            "description": description[:2000],
        }
        return self.http.request_json("POST", "/api/do/notes", route="notes", json_body=body) or {}

    # --- Feed and hook --------------------------------------------------------------------------

    def get_feed_config(self) -> FeedConfig | None:
        try:
            data = self.http.request_json("GET", "/api/orders/feed/config", route="feed")
        except NotFoundError:
            return None
        return self.http.parse(FeedConfig.from_json, data, "GET", "/api/orders/feed/config")

    def set_feed_config(self, *, statuses: Sequence[str], visibility_timeout: int, retention: int) -> None:
        body = {
            "filter": {"type": "FromWorkflow", "status": list(statuses)},
            "queue": {"visibilityTimeoutInSeconds": visibility_timeout, "MessageRetentionPeriodInSeconds": retention},
        }
        self.http.request("POST", "/api/orders/feed/config", route="feed", json_body=body)

    def delete_feed_config(self) -> None:
        self.http.request("DELETE", "/api/orders/feed/config", route="feed")

    def retrieve_feed(self, *, maxlot: int = MAX_FEED_LOT) -> list[FeedItem]:
        if not 1 <= maxlot <= MAX_FEED_LOT:
            raise ValueError(f"maxlot must be between 1 and {MAX_FEED_LOT}")
        data = self.http.request_json("GET", "/api/orders/feed", route="feed", params={"maxlot": maxlot})
        return self.http.parse(lambda d: [FeedItem.from_json(i) for i in d or []], data, "GET", "/api/orders/feed")

    def commit_feed(self, handles: Sequence[str]) -> None:
        if handles:
            self.http.request("POST", "/api/orders/feed", route="feed", json_body={"handles": list(handles)})

    def get_hook_config(self) -> Mapping[str, Any] | None:
        try:
            return self.http.request_json("GET", "/api/orders/hook/config", route="feed")
        except NotFoundError:
            return None

    def set_hook_config(self, *, statuses: Sequence[str], url: str, headers: Mapping[str, str]) -> None:
        body = {
            "filter": {"type": "FromWorkflow", "status": list(statuses)},
            "hook": {"url": url, "headers": dict(headers)},
        }
        self.http.request("POST", "/api/orders/hook/config", route="feed", json_body=body)

    def delete_hook_config(self) -> None:
        self.http.request("DELETE", "/api/orders/hook/config", route="feed")

    # --- Channel Order API (external marketplaces) ------------------------------------------------

    def update_channel_order_status(
        self, *, marketplace_order_id: str, status: str, connector_name: str, connector_endpoint: str
    ) -> ChannelOrderResult:
        path = "/api/order-integration/orders/status"
        body = {
            "marketplaceOrderId": marketplace_order_id,
            "marketplaceOrderStatus": status,
            "connectorName": connector_name,
            "connectorEndpoint": connector_endpoint,
        }
        data = self.http.request_json(
            "PUT", path, route="channel_order", json_body=body, params={"an": self.account_name}
        )
        return self.http.parse(ChannelOrderResult.from_json, data, "PUT", path)
