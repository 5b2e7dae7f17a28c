"""Catalog: SKUs and the lookups the portal maps ERP articles with (reference §1.2, §3.2).

The lookups answer only ``200`` in VTEX's spec; what a miss looks like is the working contract's (A):
``stockkeepingunitidbyrefid`` and the other single lookups → 404, the batch lookup leaves unknown
RefIds out. A RefId held by several SKUs (the Admin UI allows it, KI 910050) finds the lowest id.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from sandbox import clock
from sandbox.routers import SANDBOX_DB
from sandbox.vtex_catalog.errors import ControlError, bad_request, catalog_sku_not_found, vtex_error
from sandbox.vtex_catalog.models import Sku, SkuEan
from sandbox.vtex_catalog.values import INT32_MAX, is_whole, sku_id_of, utc_text

# reference §3.2 (A): VTEX's limit per batch lookup is unknown; the working contract sends at most
# 100 unique RefIds, and the simulator refuses more so a client that sends more finds out here.
REFIDS_PER_BATCH = 100
PAGE_SIZE_MAX = 1000  # reference §1.2: ListallSKUIDs pagesize ≤ 1000
BULK_BATCH = 2000
TEXT_MAX = 200


def skus(account: str) -> QuerySet[Sku]:
    return Sku.objects.filter(account=account).prefetch_related(Prefetch("eans", queryset=SkuEan.objects.all()))


def sku_get(*, account: str, sku_id: int) -> Sku | None:
    return skus(account).filter(sku_id=sku_id).first()


def sku_by_ref_id(*, account: str, ref_id: str) -> Sku | None:
    if not ref_id:
        return None
    return skus(account).filter(ref_id=ref_id).order_by("sku_id").first()


def sku_by_ean(*, account: str, ean: str) -> Sku | None:
    return skus(account).filter(eans__ean=ean).order_by("sku_id").first()


def sku_by_alternate_id(*, account: str, alternate_id: str) -> Sku | None:
    """``stockkeepingunitbyalternateId``: the EAN first, then the RefId (reference §1.2)."""
    return sku_by_ean(account=account, ean=alternate_id) or sku_by_ref_id(account=account, ref_id=alternate_id)


def sku_ids_by_ref_ids(*, account: str, data) -> dict[str, str]:
    """The batch lookup: ``{refId: skuId}`` for the RefIds found; unknown ones are left out (A).

    1. The body is a JSON array of strings (else 400), at most REFIDS_PER_BATCH of them (choice).
    2. A RefId given twice → 500, as VTEX does (reference §1.2, C).
    3. One query for all; a RefId held by several SKUs gives the lowest id.
    """
    if not isinstance(data, list) or not all(isinstance(ref, str) for ref in data):
        raise bad_request("SBX-INVALID-BODY", "The body must be a JSON array of RefIds (strings)")
    if len(data) > REFIDS_PER_BATCH:
        raise bad_request("SBX-TOO-MANY-REFIDS", f"At most {REFIDS_PER_BATCH} RefIds per request, got {len(data)}")
    if len(set(data)) != len(data):
        raise vtex_error(500, "SBX-DUPLICATE-REFID", "An item with the same key has already been added.")
    found: dict[str, str] = {}
    rows = Sku.objects.filter(account=account, ref_id__in=[ref for ref in data if ref]).order_by("sku_id")
    for ref_id, sku_id in rows.values_list("ref_id", "sku_id"):
        found.setdefault(ref_id, str(sku_id))
    return {ref: found[ref] for ref in data if ref in found}


def sku_ids_page(*, account: str, page: int, page_size: int) -> list[int]:
    start = (page - 1) * page_size
    rows = Sku.objects.filter(account=account).order_by("sku_id").values_list("sku_id", flat=True)
    return list(rows[start : start + page_size])


def _eans(sku: Sku) -> list[str]:
    return [e.ean for e in sku.eans.all()]


def sku_json(sku: Sku, *, with_ean: bool = False) -> dict:
    """``GET /api/catalog/pvt/stockkeepingunit/{skuId}`` (and ``?RefId=``, which also has ``Ean``)."""
    body = {
        "Id": sku.sku_id,
        "ProductId": sku.product_id,
        "IsActive": sku.is_active,
        "ActivateIfPossible": True,
        "Name": sku.name,
        "RefId": sku.ref_id,
        "PackagedHeight": 0.0,
        "PackagedLength": 0.0,
        "PackagedWidth": 0.0,
        "PackagedWeightKg": 0,
        "Height": 0.0,
        "Length": 0.0,
        "Width": 0.0,
        "WeightKg": 0.0,
        "CubicWeight": 0.0,
        "IsKit": False,
        "CreationDate": utc_text(sku.created_at),
        "RewardValue": 0.0,
        "EstimatedDateArrival": None,
        "ManufacturerCode": "",
        "CommercialConditionId": 1,
        "MeasurementUnit": sku.measurement_unit,
        "UnitMultiplier": sku.unit_multiplier,
        "ModalType": None,
        "KitItensSellApart": False,
        "Videos": [],  # the ?RefId= variant answers it empty anyway (reference §1.2, KI)
    }
    if with_ean:
        eans = _eans(sku)
        body["Ean"] = eans[0] if eans else ""
    return body


def sku_context_json(sku: Sku) -> dict:
    """The SKU context (``stockkeepingunitbyean``, ``…byalternateId``, ``…byid``): every field the spec
    requires, the ones the simulator does not model at neutral values."""
    eans = _eans(sku)
    alternate_ids = {"RefId": sku.ref_id, **({"Ean": eans[0]} if eans else {})}
    return {
        "Id": sku.sku_id,
        "ProductId": sku.product_id,
        "NameComplete": sku.name,
        "ComplementName": "",
        "ProductName": sku.name,
        "ProductDescription": "",
        "ProductRefId": "",
        "TaxCode": "",
        "SkuName": sku.name,
        "IsActive": sku.is_active,
        "IsTransported": True,
        "IsInventoried": True,
        "IsGiftCardRecharge": False,
        "ImageUrl": "",
        "DetailUrl": f"/sku-{sku.sku_id}/p",
        "CSCIdentification": None,
        "BrandId": "2000000",
        "BrandName": "Sandbox",
        "Dimension": {"cubicweight": 0.0, "height": 0.0, "length": 0.0, "weight": 0.0, "width": 0.0},
        "RealDimension": {
            "realCubicWeight": 0.0,
            "realHeight": 0.0,
            "realLength": 0.0,
            "realWeight": 0.0,
            "realWidth": 0.0,
        },
        "ManufacturerCode": "",
        "IsKit": False,
        "KitItems": [],
        "Services": [],
        "Categories": [],
        "CategoriesFullPath": [],
        "Attachments": [],
        "Collections": [],
        "SkuSellers": [
            {
                "SellerId": "1",
                "StockKeepingUnitId": sku.sku_id,
                "SellerStockKeepingUnitId": str(sku.sku_id),
                "IsActive": sku.is_active,
                "FreightCommissionPercentage": 0.0,
                "ProductCommissionPercentage": 0.0,
            }
        ],
        "SalesChannels": [1],
        "Images": [],
        "SkuSpecifications": [],
        "ProductSpecifications": [],
        "ProductClustersIds": "",
        "ProductCategoryIds": "/1/",
        "ProductGlobalCategoryId": None,
        "ProductCategories": {"1": "Sandbox"},
        "CommercialConditionId": 1,
        "RewardValue": 0.0,
        "AlternateIds": alternate_ids,
        "AlternateIdValues": [*eans, *([sku.ref_id] if sku.ref_id else [])],
        "EstimatedDateArrival": None,
        "MeasurementUnit": sku.measurement_unit,
        "UnitMultiplier": sku.unit_multiplier,
        "InformationSource": None,
        "ModalType": None,
        "KeyWords": "",
        "ReleaseDate": None,
        "ProductIsVisible": True,
        "ShowIfNotAvailable": True,
        "IsProductActive": sku.is_active,
        "ProductFinalScore": 0,
    }


def found(sku: Sku | None) -> Sku:
    if sku is None:
        raise catalog_sku_not_found()
    return sku


def catalog_sku_id(value: str) -> int:
    """A Catalog path's SKU id (the spec types it integer); anything else finds no SKU (404)."""
    sku_id = sku_id_of(value)
    if sku_id is None:
        raise catalog_sku_not_found()
    return sku_id


# --- control API ------------------------------------------------------------------------------------


def _text(data: dict, key: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > TEXT_MAX:
        raise ControlError(f"{key} must be a string of at most {TEXT_MAX} characters")
    return value


def _ean_list(data: dict) -> list[str]:
    eans = data.get("eans")
    if eans is None:
        eans = [data["ean"]] if data.get("ean") else []
    if not isinstance(eans, list) or not all(isinstance(e, str) and 0 < len(e) <= 100 for e in eans):
        raise ControlError("eans must be a list of non-empty strings")
    return eans


def _sku_from(account: str, data, now) -> tuple[Sku, list[str]]:
    if not isinstance(data, dict):
        raise ControlError("a SKU must be a JSON object")
    sku_id = sku_id_of(data.get("id"))
    if sku_id is None:
        raise ControlError(f"id must be a SKU id from 1 to {INT32_MAX}")
    product_id = data.get("productId", sku_id)
    if not is_whole(product_id) or not 1 <= product_id <= INT32_MAX:
        raise ControlError(f"productId must be a whole number from 1 to {INT32_MAX}")
    is_active = data.get("isActive", True)
    if not isinstance(is_active, bool):
        raise ControlError("isActive must be true or false")
    sku = Sku(
        account=account,
        sku_id=sku_id,
        product_id=product_id,
        ref_id=_text(data, "refId"),
        name=_text(data, "name") or f"SKU {sku_id}",
        is_active=is_active,
        measurement_unit=_text(data, "measurementUnit", "un") or "un",
        created_at=now,
    )
    return sku, _ean_list(data)


def _generated(data: dict) -> Iterable[dict]:
    """``count`` SKUs from ``firstId`` on; ``{n}`` (1, 2, …) and ``{id}`` in ``refIdPattern``/``eanPattern``."""
    count = data.get("count")
    if not is_whole(count) or not 1 <= count <= 100_000:
        raise ControlError("count must be a whole number from 1 to 100000")
    first = data.get("firstId", 1)
    if not is_whole(first) or sku_id_of(first) is None or first + count - 1 > INT32_MAX:
        raise ControlError(f"firstId must be a SKU id, and firstId + count - 1 at most {INT32_MAX}")
    ref_pattern = data.get("refIdPattern", "REF-{n}")
    ean_pattern = data.get("eanPattern")
    for pattern in (ref_pattern, ean_pattern):
        if pattern is not None and (not isinstance(pattern, str) or len(pattern) > 100):
            raise ControlError("refIdPattern and eanPattern must be strings")
    is_active = data.get("isActive", True)
    for n in range(1, count + 1):
        sku_id = first + n - 1
        try:
            ref_id = ref_pattern.format(n=n, id=sku_id)
            eans = [ean_pattern.format(n=n, id=sku_id)] if ean_pattern else []
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise ControlError(f"a pattern may use only {{n}} and {{id}}: {exc}") from None
        yield {"id": sku_id, "refId": ref_id, "eans": eans, "isActive": is_active, "name": f"SKU {ref_id}"}


def skus_create(*, account: str, data: dict) -> list[int]:
    """Control API: SKUs in a few multi-row inserts (10,000 in seconds).

    1. The SKUs: ``skus`` (a list of ``{id, refId, eans|ean, isActive, productId, name}``) or
       ``count`` generated ones (``firstId``, ``refIdPattern``, ``eanPattern``).
    2. Ids must be new in the account and in the request (400 naming the first taken one).
    3. Inserted in batches with their EANs; the ids are returned in the request's order.
    """
    if "skus" in data:
        if not isinstance(data["skus"], list) or not data["skus"]:
            raise ControlError("skus must be a non-empty list")
        if len(data["skus"]) > 100_000:
            raise ControlError("at most 100000 SKUs at once")
        bodies: Iterable[dict] = data["skus"]
    else:
        bodies = _generated(data)
    now = clock.now()
    built: list[tuple[Sku, list[str]]] = []
    seen: set[int] = set()
    for n, body in enumerate(bodies):
        try:
            sku, eans = _sku_from(account, body, now)
        except ControlError as exc:
            raise ControlError(f"SKU {n + 1}: {exc}") from None
        if sku.sku_id in seen:
            raise ControlError(f"SKU id {sku.sku_id} is given twice")
        seen.add(sku.sku_id)
        built.append((sku, eans))
    ids = [sku.sku_id for sku, _ in built]
    for start in range(0, len(ids), BULK_BATCH):
        taken = Sku.objects.filter(account=account, sku_id__in=ids[start : start + BULK_BATCH]).first()
        if taken is not None:
            raise ControlError(f"SKU id {taken.sku_id} exists already in {account}", status=409)
    for start in range(0, len(built), BULK_BATCH):
        chunk = built[start : start + BULK_BATCH]
        created = Sku.objects.using(SANDBOX_DB).bulk_create([sku for sku, _ in chunk])
        SkuEan.objects.using(SANDBOX_DB).bulk_create(
            [
                SkuEan(sku=sku, ean=ean, position=i)
                for sku, (_, eans) in zip(created, chunk, strict=True)
                for i, ean in enumerate(eans)
            ]
        )
    return ids


def sku_change(*, sku: Sku, data: dict) -> Sku:
    """Control API: change a SKU's RefId, EANs, name or active flag (only the fields given)."""
    fields = []
    if "refId" in data:
        sku.ref_id = _text(data, "refId")
        fields.append("ref_id")
    if "name" in data:
        sku.name = _text(data, "name") or sku.name
        fields.append("name")
    if "isActive" in data:
        if not isinstance(data["isActive"], bool):
            raise ControlError("isActive must be true or false")
        sku.is_active = data["isActive"]
        fields.append("is_active")
    if fields:
        sku.save(update_fields=fields)
    if "eans" in data or "ean" in data:
        eans = _ean_list(data)
        sku.eans.all().delete()
        SkuEan.objects.bulk_create([SkuEan(sku=sku, ean=ean, position=i) for i, ean in enumerate(eans)])
    return sku


def sku_summary(sku: Sku) -> dict:
    return {
        "skuId": sku.sku_id,
        "productId": sku.product_id,
        "refId": sku.ref_id,
        "eans": _eans(sku),
        "name": sku.name,
        "isActive": sku.is_active,
    }
