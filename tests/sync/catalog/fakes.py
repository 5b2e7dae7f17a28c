"""Fake VARIO and VTEX clients for the catalog recipe's tests: what they were asked, and answers or errors set
per call. Each reports its calls to the recorder it was built with, as the real HTTP layer does."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from django.utils import timezone

from sync.clients.catalog_dtos import ErpListing, ErpStock, ErpStockRow, VtexSku
from sync.clients.dtos import RemoteCall
from sync.clients.errors import AuthError, NotFoundError, RejectedError, RetryableError

READ_AT = datetime(2026, 3, 3, 9, 12, 4, 512000, tzinfo=UTC)


def stock_row(article: str, storage: str, available) -> ErpStockRow:
    value = Decimal(str(available))
    return ErpStockRow(
        article_id=article,
        article_number=f"ART-{article}",
        storage_id=storage,
        storage_number=storage,
        quantity_in_stock=value,
        reserved_quantity=Decimal(0),
        quantity_in_picking=Decimal(0),
        stock_available=value,
        updated_at=None,
    )


def listing(article: str, number: str = "", *, ean: str = "", listed: bool = True, sellable: bool = False):
    return ErpListing(
        article_id=article,
        article_number=number or f"ART-{article}",
        active=True,
        product_type="WITH_STOCK",
        sellable_without_stock=sellable,
        ean=ean,
        listing_id=str(824 + int(article)),
        listed=listed,
        sales_channel_id="7",
        vtex_sku_id="",
        updated_at=None,
    )


def call(recorder, remote: str, method: str, path: str, status: int | None) -> None:
    if recorder is not None:
        recorder(RemoteCall(remote, method, path, status, 12.5, timezone.now()))


class Remote:
    """Errors to raise, per key, in the order given (then the call succeeds)."""

    def __init__(self) -> None:
        self.calls: list = []
        self.errors: dict = defaultdict(list)
        self.recorder = None

    def fail(self, key, *errors) -> None:
        self.errors[key].extend(errors)

    def _maybe_fail(self, key) -> None:
        if self.errors.get(key):
            raise self.errors[key].pop(0)

    def close(self) -> None:
        pass


class FakeVario(Remote):
    def __init__(self) -> None:
        super().__init__()
        self.stock: list[ErpStockRow] = []
        self.prices = []
        self.rrps = []
        self.listings: list[ErpListing] = []

    def get_stock(self, article_ids):
        self.calls.append(("stock", tuple(article_ids)))
        call(self.recorder, "vario", "POST", "/cmn/computed-queries/execute", 200)
        self._maybe_fail("stock")
        return ErpStock(read_at=READ_AT, rows=tuple(r for r in self.stock if r.article_id in article_ids))

    def get_listings(self, *, sales_channel_id, article_ids):
        self.calls.append(("listings", tuple(article_ids)))
        call(self.recorder, "vario", "POST", "/cmn/computed-queries/execute", 200)
        self._maybe_fail("listings")
        return tuple(x for x in self.listings if x.article_id in article_ids)

    def iter_channel_listings(self, *, sales_channel_id, page_size=500):
        self.calls.append(("all listings", sales_channel_id))
        self._maybe_fail("listings")
        return iter([x for x in self.listings if x.listed])

    def get_sales_prices(self, article_ids):
        self.calls.append(("prices", tuple(article_ids)))
        self._maybe_fail("prices")
        return tuple(p for p in self.prices if p.article_id in article_ids)

    def get_recommended_retail_prices(self, article_ids):
        self.calls.append(("rrps", tuple(article_ids)))
        return tuple(r for r in self.rrps if r.article_id in article_ids)


class FakeLogistics(Remote):
    def update_inventory(self, sku_id, warehouse_id, **body):
        self.calls.append((sku_id, warehouse_id, body))
        path = f"/api/logistics/pvt/inventory/skus/{sku_id}/warehouses/{warehouse_id}"
        try:
            self._maybe_fail((sku_id, warehouse_id))
        except Exception as exc:
            call(self.recorder, "vtex", "PUT", path, getattr(exc, "status", None))
            raise
        call(self.recorder, "vtex", "PUT", path, 200)

    def list_warehouses(self):
        self.calls.append("warehouses")
        self._maybe_fail("warehouses")
        return ()


class FakePricing(Remote):
    def update_price(self, sku_id, *, base_price, list_price, fixed_prices):
        self.calls.append((sku_id, base_price, list_price, tuple(fixed_prices)))
        self._maybe_fail(sku_id)
        call(self.recorder, "vtex", "PUT", f"/pricing/prices/{sku_id}", 200)

    def list_price_tables(self):
        self._maybe_fail("tables")
        return ("1", "b2b")


class FakeCatalog(Remote):
    def __init__(self) -> None:
        super().__init__()
        self.by_ref_id: dict[str, int] = {}
        self.by_ean: dict[str, VtexSku] = {}

    def get_sku_ids_by_ref_ids(self, ref_ids):
        ref_ids = list(ref_ids)
        assert len(ref_ids) == len(set(ref_ids)) and len(ref_ids) <= 100
        self.calls.append(("refids", tuple(ref_ids)))
        call(self.recorder, "vtex", "POST", "/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids", 200)
        self._maybe_fail("refids")
        return {r: self.by_ref_id[r] for r in ref_ids if r in self.by_ref_id}

    def get_sku_by_ean(self, ean):
        self.calls.append(("ean", ean))
        return self.by_ean.get(ean)


def retryable(status: int | None, *, retry_after: float | None = None, method: str = "PUT") -> RetryableError:
    return RetryableError(
        "try later",
        retry_after=retry_after,
        may_have_applied=status != 429,
        remote="vtex",
        method=method,
        path="/x",
        status=status,
    )


def not_found(code: str, message: str) -> NotFoundError:
    return NotFoundError(message, remote="vtex", method="PUT", path="/x", status=404, code=code, body_excerpt=message)


def rejected(status: int = 400, body: str = '{"error": "bad"}') -> RejectedError:
    cls = AuthError if status in (401, 403) else RejectedError
    return cls("refused", remote="vtex", method="PUT", path="/x", status=status, body_excerpt=body)
