"""VTEX Catalog lookups: from a VARIO article's keys to the VTEX SKU id (reference/catalog-sync.md §1.2, §3.2).

Only ``200`` is documented for these lookups; what a miss looks like is not (§1.2, U). The working
contract's (§3.2, A): the single lookups answer 404 (``"SKU not found"``), the batch leaves unknown RefIds
out of its object or maps them to ``null``. Every lookup here turns a miss of either kind into "absent"
(None, or no entry) instead of an error, so a SKU VTEX does not have is a mapping state, not a failure.

Routes (one limiter window each; VTEX publishes 15,000 calls a minute per endpoint and 45,000 per account
for Catalog, catalog-sync.md §1.6, far above the portal's default rate for VTEX routes):
``catalog_sku_id`` (SKU id by RefId), ``catalog_sku_ids`` (the batch), ``catalog_sku`` (SKU by RefId),
``catalog_sku_by_ean``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from sync.clients.catalog_dtos import VtexSku, sku_id_of
from sync.clients.errors import NotFoundError
from sync.clients.vtex import VtexApiClient

# The batch lookup's size is not published (§4 gap 2); the working contract caps it at 100 unique RefIds a
# call (§3.2, A).
MAX_REF_IDS_PER_CALL = 100
ROUTES = ("catalog_sku_id", "catalog_sku_ids", "catalog_sku", "catalog_sku_by_ean")


def _key_text(value: str, what: str) -> str:
    """A RefId or EAN for a path or a body: non-empty text without surrounding blanks."""
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise ValueError(f"{what} must be non-empty text without leading or trailing blanks: {value!r}")
    return value


def _sku_id_or_none(data: Any) -> int | None:
    """SKU id by RefId answers a JSON string (``"1"``); null or an empty string means no SKU."""
    if data is None or data == "":
        return None
    return sku_id_of(data)


def _sku_ids_of(data: Any, asked: tuple[str, ...]) -> dict[str, int]:
    if not isinstance(data, Mapping):
        raise TypeError("the batch lookup answered no object")
    found = {}
    for ref_id in asked:
        sku_id = _sku_id_or_none(data.get(ref_id))
        if sku_id is not None:
            found[ref_id] = sku_id
    return found


class VtexCatalogClient(VtexApiClient):
    def get_sku_id_by_ref_id(self, ref_id: str) -> int | None:
        """``GET /api/catalog_system/pvt/sku/stockkeepingunitidbyrefid/{refId}`` (``SkuIdbyRefId``):
        the id of the SKU with this RefId; None when VTEX has none."""
        path = f"/api/catalog_system/pvt/sku/stockkeepingunitidbyrefid/{quote(_key_text(ref_id, 'RefId'), safe='')}"
        try:
            data = self.http.request_json("GET", path, route="catalog_sku_id")
        except NotFoundError:
            return None
        return self.http.parse(_sku_id_or_none, data, "GET", path)

    def get_sku_ids_by_ref_ids(self, ref_ids: Iterable[str]) -> dict[str, int]:
        """``POST /api/catalog_system/pub/sku/stockkeepingunitidsbyrefids`` (``SkuIdlistbyRefIdlist``):
        RefId → SKU id for the RefIds VTEX knows; the others are absent from the result.

        Steps:
        1. Drop repeated RefIds, keeping the first's place: a repeated value makes VTEX answer 500 (§1.2).
        2. Send them in calls of at most ``MAX_REF_IDS_PER_CALL`` (§3.2), in order.
        3. Keep only answers for RefIds that were asked, skipping ``null`` values (§3.2's not-found contract).
        A lookup changes nothing, so a dry run sends it too (``read``).
        """
        unique = tuple(dict.fromkeys(_key_text(ref_id, "RefId") for ref_id in ref_ids))
        path = "/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids"
        found: dict[str, int] = {}
        for start in range(0, len(unique), MAX_REF_IDS_PER_CALL):
            chunk = unique[start : start + MAX_REF_IDS_PER_CALL]
            data = self.http.request_json("POST", path, route="catalog_sku_ids", json_body=list(chunk), read=True)
            found.update(self.http.parse(lambda d, asked=chunk: _sku_ids_of(d, asked), data, "POST", path))
        return found

    def get_sku_by_ref_id(self, ref_id: str) -> VtexSku | None:
        """``GET /api/catalog/pvt/stockkeepingunit?RefId={refId}`` (Get SKU by reference ID): the SKU with
        its active flag (an inactive SKU maps to INACTIVE, §3.2); None when VTEX has none."""
        path = "/api/catalog/pvt/stockkeepingunit"
        try:
            data = self.http.request_json(
                "GET", path, route="catalog_sku", params={"RefId": _key_text(ref_id, "RefId")}
            )
        except NotFoundError:
            return None
        if data is None or data == {}:
            return None
        return self.http.parse(VtexSku.from_sku_json, data, "GET", path)

    def get_sku_by_ean(self, ean: str) -> VtexSku | None:
        """``GET /api/catalog_system/pvt/sku/stockkeepingunitbyean/{ean}`` (``SkubyEAN``): the SKU context
        of the SKU carrying this EAN; None when VTEX has none (a 404, §3.2)."""
        path = f"/api/catalog_system/pvt/sku/stockkeepingunitbyean/{quote(_key_text(ean, 'EAN'), safe='')}"
        try:
            data = self.http.request_json("GET", path, route="catalog_sku_by_ean")
        except NotFoundError:
            return None
        if data is None or data == {}:
            return None
        return self.http.parse(VtexSku.from_context_json, data, "GET", path)
