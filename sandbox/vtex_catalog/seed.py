"""The Catalog, Logistics and Pricing state after a reset, for the demo account.

- A SKU per article the VARIO simulator seeds: RefId = ERP article number, the same EAN, SKU id
  2000 + article id (as ``sandbox.traffic`` orders them), the inactive article inactive here too.
- Two warehouses with a dock each, and price tables ``1`` (the main trade policy) and ``b2b``: the
  ids of the working contract's example configuration (reference §3.1).
- No stock and no prices: VTEX learns them from the portal's initial sync.
- The Catalog's published limits as sliding windows (``sandbox.limits``); the Pricing budgets are
  ``limits.PUBLISHED_PRICING_LIMITS`` until the control API changes them.
"""

from __future__ import annotations

from sandbox import clock
from sandbox.models import RateLimitRule, Remote
from sandbox.vario.seed import demo_articles
from sandbox.vtex.seed import DEMO_ACCOUNT
from sandbox.vtex_catalog.limits import state_clear
from sandbox.vtex_catalog.models import Dock, PriceTable, Sku, SkuEan, Warehouse

SKU_ID_OFFSET = 2000
PRODUCT_ID_OFFSET = 1000
DEMO_WAREHOUSES = [
    ("wh_main", "Main warehouse", "dock_main", "Main dock"),
    ("wh_store_berlin", "Store Berlin", "dock_berlin", "Berlin dock"),
]
DEMO_PRICE_TABLES = ["1", "b2b"]

# reference §1.6 (C, Catalog spec info): 15,000 requests per minute per endpoint, 45,000 per account.
# Counted per appKey, which stands for the account, like the OMS limits (sandbox/vtex/seed.py).
_CATALOG = r"^/api/catalog(_system)?/"
CATALOG_ENDPOINTS = {
    "stockkeepingunitidbyrefid": ("GET", r"^/api/catalog_system/pvt/sku/stockkeepingunitidbyrefid/"),
    "stockkeepingunitidsbyrefids": ("POST", r"^/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids$"),
    "stockkeepingunit-by-refid": ("GET", r"^/api/catalog/pvt/stockkeepingunit$"),
    "stockkeepingunit": ("GET", r"^/api/catalog/pvt/stockkeepingunit/[^/]+$"),
    "stockkeepingunit-ean": ("GET", r"^/api/catalog/pvt/stockkeepingunit/[^/]+/ean$"),
    "stockkeepingunitbyid": ("GET", r"^/api/catalog_system/pvt/sku/stockkeepingunitbyid/"),
    "stockkeepingunitbyean": ("GET", r"^/api/catalog_system/pvt/sku/stockkeepingunitbyean/"),
    "stockkeepingunitbyalternateId": ("GET", r"^/api/catalog_system/pvt/sku/stockkeepingunitbyalternateId/"),
    "stockkeepingunitids": ("GET", r"^/api/catalog_system/pvt/sku/stockkeepingunitids$"),
}
CATALOG_LIMITS = [
    {"name": f"vtex-catalog-{name}", "method": method, "path_pattern": pattern, "limit": 15_000}
    for name, (method, pattern) in CATALOG_ENDPOINTS.items()
] + [{"name": "vtex-catalog-account", "method": "", "path_pattern": _CATALOG, "limit": 45_000}]


def catalog_seed() -> None:
    now = clock.now()
    for warehouse_id, name, dock_id, dock_name in DEMO_WAREHOUSES:
        Dock.objects.create(account=DEMO_ACCOUNT, dock_id=dock_id, name=dock_name, sales_channels=["1"])
        Warehouse.objects.create(
            account=DEMO_ACCOUNT,
            warehouse_id=warehouse_id,
            name=name,
            docks=[{"dockId": dock_id, "time": "00:00:00", "cost": 0}],
        )
    for table in DEMO_PRICE_TABLES:
        PriceTable.objects.create(account=DEMO_ACCOUNT, table_id=table)
    articles = demo_articles()
    created = Sku.objects.bulk_create(
        [
            Sku(
                account=DEMO_ACCOUNT,
                sku_id=SKU_ID_OFFSET + a["id"],
                product_id=PRODUCT_ID_OFFSET + a["id"],
                ref_id=a["article_number"],
                name=a["name"],
                is_active=a.get("active", True),
                created_at=now,
            )
            for a in articles
        ]
    )
    SkuEan.objects.bulk_create([SkuEan(sku=sku, ean=a["ean"]) for sku, a in zip(created, articles, strict=True)])
    for rule in CATALOG_LIMITS:
        RateLimitRule.objects.get_or_create(
            remote=Remote.VTEX, name=rule["name"], defaults={**rule, "window_seconds": 60}
        )
    state_clear()
