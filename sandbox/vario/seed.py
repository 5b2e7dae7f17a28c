"""The VARIO simulator's state after a reset: the demo app installation and the tenant's master data.

The credentials below are what the portal's demo settings point at (`make run`).
"""

from __future__ import annotations

from decimal import Decimal

from sandbox import harness
from sandbox.models import RateLimitRule, Remote

# The demo installation (printed in docs/sandbox-vario.md; simulator credentials, not secrets),
# defined once in sandbox.harness, which points the tests' and benchmarks' portals at it.
DEMO_TENANT = "demo"
DEMO_CLIENT_ID = harness.VARIO_CLIENT_ID
DEMO_CLIENT_SECRET = harness.VARIO_CLIENT_SECRET
DEMO_APP_IDENTIFIER = harness.VARIO_APP_IDENTIFIER
DEMO_REFRESH_TOKEN = harness.VARIO_REFRESH_TOKEN
DEMO_ACCESS_TOKEN_LIFETIME = 300

DEMO_SALES_CHANNEL_ID = "7"
DEMO_ACCOUNT_ID = "501"
ORDER_TYPE_ID = 12
DELIVERY_TYPE_ID = 14
GOODS_RETURN_TYPE_ID = 16
DEFAULT_DELIVERY_METHOD_ID = "3"

# reference/vario-erp.md §4.2: the carrier keys the simulator knows.
CARRIERS = [
    ("1", "DHL", "DHL Paket"),
    ("2", "DHL_EXPRESS", "DHL Express"),
    ("3", "DPD", "DPD"),
    ("4", "GLS", "GLS"),
    ("5", "HERMES", "Hermes"),
    ("6", "UPS", "UPS"),
    ("7", "FEDEX", "FedEx"),
    ("8", "DEUTSCHE_POST", "Deutsche Post"),
]
DELIVERY_METHODS = [
    ("1", "Abholung", None),
    ("2", "DPD Classic", "DPD"),
    ("3", "DHL Paket", "DHL"),
    ("4", "UPS Standard", "UPS"),
    ("5", "GLS Business Parcel", "GLS"),
    ("6", "Hermes Paket", "HERMES"),
    ("7", "DHL Express", "DHL_EXPRESS"),
    ("8", "Deutsche Post Warensendung", "DEUTSCHE_POST"),
]
PAYMENT_METHODS = [("1", "Vorkasse"), ("2", "Marktplatz-Zahlung"), ("3", "Rechnung"), ("4", "PayPal")]
DOCUMENT_TYPES = [
    (ORDER_TYPE_ID, "AU", "Auftrag", "CUSTOMER_ORDER", "AU-", 10001),
    (DELIVERY_TYPE_ID, "LS", "Lieferschein", "CUSTOMER_DELIVERY_DOCUMENT", "LS-", 20001),
    (GOODS_RETURN_TYPE_ID, "WR", "Warenrücknahme", "CUSTOMER_GOODS_RETURN", "WR-", 30001),
]

_COLOURS = [("RED", "rot"), ("BLUE", "blau"), ("BLACK", "schwarz"), ("WHITE", "weiß")]
_SIZES = ["S", "M", "L", "XL"]
_SHOE_SIZES = range(38, 46)


def ean13(body12: str) -> str:
    """Append the EAN-13 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def demo_articles() -> list[dict]:
    """A catalogue of T-shirts and sneakers; SKU-RED-M has id 77 as in the reference's examples."""
    rows = []
    article_id = 76
    for colour, german in _COLOURS:
        for size in _SIZES:
            rows.append(
                {
                    "id": article_id,
                    "article_number": f"SKU-{colour}-{size}",
                    "name": f"T-Shirt {german} {size}",
                    "price": Decimal("19.99"),
                }
            )
            article_id += 1
    for colour, german in _COLOURS[2:]:
        for size in _SHOE_SIZES:
            rows.append(
                {
                    "id": article_id,
                    "article_number": f"SHOE-{colour}-{size}",
                    "name": f"Sneaker {german} {size}",
                    "price": Decimal("89.90"),
                }
            )
            article_id += 1
    rows.append({"id": article_id, "article_number": "HOODIE-GREY-M", "name": "Hoodie grau M", "price": Decimal(49)})
    # An article taken out of the range: orders for it are refused (422).
    rows.append(
        {
            "id": article_id + 1,
            "article_number": "SKU-OLD-1",
            "name": "Altartikel",
            "price": Decimal(5),
            "active": False,
        }
    )
    for row in rows:
        row["ean"] = ean13(f"4006381{row['id']:05d}")
    return rows


def vario_seed() -> None:
    from sandbox.vario.catalog import catalog_seed
    from sandbox.vario.models import (
        Account,
        AppClient,
        Article,
        Carrier,
        DeliveryMethod,
        DocumentType,
        PaymentMethod,
        SalesChannel,
    )

    AppClient.objects.create(
        tenant=DEMO_TENANT,
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        app_identifier=DEMO_APP_IDENTIFIER,
        refresh_token=DEMO_REFRESH_TOKEN,
        access_token_lifetime=DEMO_ACCESS_TOKEN_LIFETIME,
    )
    SalesChannel.objects.create(id=DEMO_SALES_CHANNEL_ID, label="VTEX DE", description=None, active=True)
    Account.objects.create(id=DEMO_ACCOUNT_ID, number="501", name="Sammelkunde VTEX Marktplatz")
    carriers = {key: Carrier.objects.create(id=cid, key=key, label=label) for cid, key, label in CARRIERS}
    for mid, label, carrier_key in DELIVERY_METHODS:
        DeliveryMethod.objects.create(id=mid, label=label, carrier=carriers.get(carrier_key))
    for pid, label in PAYMENT_METHODS:
        PaymentMethod.objects.create(id=pid, label=label)
    for type_id, key, label, category, prefix, first in DOCUMENT_TYPES:
        DocumentType.objects.create(
            id=type_id, key=key, label=label, category=category, number_prefix=prefix, next_number=first
        )
    Article.objects.bulk_create(Article(**row) for row in demo_articles())
    catalog_seed()  # storages, price groups, listings, stock, prices (docs/sandbox-vario.md "Catalog")
    # reference §1.3: 40 requests per 6 seconds, then 429 (the core middleware counts per bearer token).
    RateLimitRule.objects.create(
        remote=Remote.VARIO, limit=40, window_seconds=6, path_pattern="^/api/vario/", name="vario-40-per-6s"
    )
