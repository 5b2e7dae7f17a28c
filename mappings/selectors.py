"""Reads of the configuration. The sync machinery reads configuration only through here."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db.models import Q
from django.views.decorators.debug import sensitive_variables

from mappings.models import (
    CarrierCode,
    CatalogSettings,
    ChannelKind,
    OrderLink,
    PriceTableMapping,
    SalesChannel,
    SkuMapping,
    SkuMappingStatus,
    StatusMapping,
    TransferToggle,
    WarehouseMapping,
)
from portal.fields import fernet


def sales_channel_get(*, code: str) -> SalesChannel | None:
    return SalesChannel.objects.filter(code=code).first()


# What the notification edge reads of a channel: nothing else is decrypted (the app token and hook
# secret would cost two more decryptions than an unknown channel does).
_NOTIFICATION_FIELDS = (
    "id",
    "code",
    "kind",
    "vtex_account_name",
    "connector_secret",
    "connector_secret_previous",
    "connector_secret_previous_valid_until",
)


@lru_cache(maxsize=4)
def _dummy_connector_secret_token(keys: tuple[str, ...]) -> bytes:
    """A connector secret encrypted under the first of ``keys`` (the cache key: a new key list, as in a
    rotation, makes a new one, which decrypts at the first key as every stored secret does)."""
    return fernet().encrypt(secrets.token_urlsafe(32).encode())


@sensitive_variables("secret")
def marketplace_channel_authenticated(*, code: str, secret: str) -> SalesChannel | None:
    """The external-marketplace channel ``code`` names if ``secret`` is its connector secret (or the
    previous one within the grace period), else None: VTEX's Channel Order API notifications carry no
    other credential (reference/vtex.md §7).

    A missing channel costs what a present one does (one query of the same fields, one decryption,
    the same comparisons against a dummy secret), so the time of the answer does not tell an unknown
    channel from a wrong secret either.
    """
    channel = SalesChannel.objects.filter(code=code, kind=ChannelKind.EXTERNAL_MARKETPLACE).only(*_NOTIFICATION_FIELDS)
    found = channel.first()
    if found is None:
        dummy = fernet().decrypt(_dummy_connector_secret_token(tuple(settings.FIELD_ENCRYPTION_KEYS))).decode()
        SalesChannel(connector_secret=dummy).connector_secret_matches(secret)
        return None
    return found if found.connector_secret_matches(secret) else None


def sales_channels_of_vario(*, vario_sales_channel_id: str, limit: int = 3) -> list[SalesChannel]:
    """The portal channels linked to one VARIO sales channel, by code. One is the rule (the channel form
    refuses a second); more is a misconfiguration the caller names, for which a few are enough."""
    return list(SalesChannel.objects.filter(vario_sales_channel_id=vario_sales_channel_id).order_by("code")[:limit])


def sales_channels_active() -> list[SalesChannel]:
    return list(SalesChannel.objects.filter(active=True))


def transfer_enabled(*, channel: SalesChannel, sync_type: str) -> bool:
    """A toggle that does not exist counts as off: nothing is synced by accident."""
    return TransferToggle.objects.filter(channel=channel, sync_type=sync_type, enabled=True).exists()


def transfers_enabled(*, channel: SalesChannel) -> frozenset[str]:
    """The sync types switched on for ``channel``, in one read (a run takes one snapshot of them)."""
    return frozenset(TransferToggle.objects.filter(channel=channel, enabled=True).values_list("sync_type", flat=True))


def transfer_toggle_get(*, channel: SalesChannel, sync_type: str) -> TransferToggle | None:
    return TransferToggle.objects.filter(channel=channel, sync_type=sync_type).first()


def status_mapping_get(*, channel: SalesChannel, erp_state: str) -> StatusMapping | None:
    return StatusMapping.objects.filter(channel=channel, erp_state=erp_state).first()


def carrier_code_get(*, channel: SalesChannel, erp_carrier_key: str) -> CarrierCode | None:
    return CarrierCode.objects.filter(channel=channel, erp_carrier_key=erp_carrier_key).first()


def order_link_get(*, channel: SalesChannel, vtex_order_id: str) -> OrderLink | None:
    return OrderLink.objects.filter(channel=channel, vtex_order_id=vtex_order_id).first()


def order_link_of_another_channel(*, channel: SalesChannel, vtex_order_id: str) -> OrderLink | None:
    """The order's link kept by another channel of the same VTEX account, if one imported it already."""
    return (
        OrderLink.objects.filter(channel__vtex_account_name=channel.vtex_account_name, vtex_order_id=vtex_order_id)
        .exclude(channel=channel)
        .select_related("channel")
        .first()
    )


def carrier_codes_for(*, channel: SalesChannel) -> list[CarrierCode]:
    return list(CarrierCode.objects.filter(channel=channel))


def order_links_known(*, channel: SalesChannel, vtex_order_ids: list[str]) -> set[str]:
    """Which of these VTEX orders the channel already links to an ERP order (a backfill leaves them out)."""
    return set(
        OrderLink.objects.filter(channel=channel, vtex_order_id__in=vtex_order_ids).values_list(
            "vtex_order_id", flat=True
        )
    )


def order_links_page(
    *, channel: SalesChannel, after_id: int, limit: int, since=None, until=None, ids: list[str] | None = None
) -> list[OrderLink]:
    """One page of the channel's order links that have both sides, by id (a reconciliation's scope):
    created in [since, until), or those whose VTEX or ERP order id is in ``ids``."""
    links = OrderLink.objects.filter(channel=channel, id__gt=after_id).exclude(erp_order_id="")
    if since is not None:
        links = links.filter(created_at__gte=since)
    if until is not None:
        links = links.filter(created_at__lt=until)
    if ids:
        links = links.filter(Q(vtex_order_id__in=ids) | Q(erp_order_id__in=ids) | Q(erp_order_number__in=ids))
    return list(links.select_related("channel").order_by("id")[:limit])


def order_links_count(*, channel: SalesChannel, since=None, until=None, ids: list[str] | None = None) -> int:
    links = OrderLink.objects.filter(channel=channel).exclude(erp_order_id="")
    if since is not None:
        links = links.filter(created_at__gte=since)
    if until is not None:
        links = links.filter(created_at__lt=until)
    if ids:
        links = links.filter(Q(vtex_order_id__in=ids) | Q(erp_order_id__in=ids) | Q(erp_order_number__in=ids))
    return links.count()


# --- Stock and prices (reference/catalog-sync.md §3.1, §3.2, §3.5) --------------------------------------------


@dataclass(frozen=True)
class PriceTableRule:
    """One VTEX price table's fixed prices come from one VARIO price group, gross or net (resolved: a table
    without a mode of its own takes the channel's)."""

    vtex_price_table: str
    vario_price_group_id: str
    price_mode: str


@dataclass(frozen=True)
class CatalogConfig:
    """What the stock and price pipeline reads of a channel, in one snapshot (``catalog_config_get``)."""

    settings: CatalogSettings
    warehouses: Mapping[str, str]  # VARIO storage id → VTEX warehouse id
    price_tables: tuple[PriceTableRule, ...]

    def warehouse_storages(self) -> dict[str, tuple[str, ...]]:
        """VTEX warehouse id → the VARIO storages whose stock it sums (catalog-sync.md §3.1)."""
        grouped: dict[str, list[str]] = {}
        for storage, warehouse in self.warehouses.items():
            grouped.setdefault(warehouse, []).append(storage)
        return {warehouse: tuple(sorted(storages)) for warehouse, storages in grouped.items()}

    def stock_problems(self) -> tuple[str, ...]:
        """Why stock cannot be sent for this channel (empty: it can)."""
        if not self.warehouses:
            return ("No VARIO storage is mapped to a VTEX warehouse (Configuration › Warehouse mappings).",)
        return ()

    def price_problems(self) -> tuple[str, ...]:
        """Why prices cannot be sent for this channel (empty: they can)."""
        problems = []
        if not self.settings.base_price_group_id:
            problems.append("The catalog settings name no VARIO base price group.")
        if not self.settings.currency:
            problems.append("The catalog settings name no currency.")
        return tuple(problems)


def catalog_settings_get(*, channel: SalesChannel) -> CatalogSettings:
    """The channel's catalog settings; the defaults (unsaved) for a channel that has none, which every
    channel has (created with it, migration 0012): defaults send nothing by themselves."""
    found = CatalogSettings.objects.filter(channel=channel).first()
    return found if found is not None else CatalogSettings(channel=channel)


def warehouse_map_get(*, channel: SalesChannel) -> dict[str, str]:
    """VARIO storage id → VTEX warehouse id for ``channel``; storages not in it are not sent (§3.1)."""
    return dict(WarehouseMapping.objects.filter(channel=channel).values_list("vario_storage_id", "vtex_warehouse_id"))


def catalog_config_get(*, channel: SalesChannel) -> CatalogConfig:
    """The channel's catalog settings, warehouse map and price table map, in three queries."""
    settings = catalog_settings_get(channel=channel)
    tables = PriceTableMapping.objects.filter(channel=channel).order_by("vtex_price_table")
    rules = tuple(
        PriceTableRule(
            vtex_price_table=table,
            vario_price_group_id=group,
            price_mode=mode or settings.price_mode,
        )
        for table, group, mode in tables.values_list("vtex_price_table", "vario_price_group_id", "price_mode")
    )
    return CatalogConfig(settings=settings, warehouses=warehouse_map_get(channel=channel), price_tables=rules)


def sku_mappings_for_articles(*, channel: SalesChannel, vario_article_ids: Iterable[str]) -> dict[str, SkuMapping]:
    """The SKU mappings of these articles in ``channel``, whatever their state, by article id, in one query
    (an article without a row has never been matched)."""
    rows = SkuMapping.objects.filter(channel=channel, vario_article_id__in=list(vario_article_ids))
    return {row.vario_article_id: row for row in rows}


def sku_mappings_mapped(*, channel: SalesChannel, vario_article_ids: Iterable[str]) -> dict[str, SkuMapping]:
    """The mapped SKUs of these articles in ``channel``, by article id, in one query: only these are ever
    sent to VTEX (catalog-sync.md §3.2)."""
    rows = SkuMapping.objects.filter(
        channel=channel, vario_article_id__in=list(vario_article_ids), status=SkuMappingStatus.MAPPED
    )
    return {row.vario_article_id: row for row in rows}


def sku_mappings_page(
    *, channel: SalesChannel, after_id: int, limit: int, statuses: Iterable[str] = (SkuMappingStatus.MAPPED,)
) -> list[SkuMapping]:
    """One page of ``channel``'s SKU mappings in these states, by id after ``after_id`` (a bulk run's keyset
    cursor: rows matched meanwhile are not skipped, since ids only grow)."""
    rows = SkuMapping.objects.filter(channel=channel, status__in=list(statuses), id__gt=after_id)
    return list(rows.order_by("id")[:limit])


def sku_mappings_count(*, channel: SalesChannel, statuses: Iterable[str] = (SkuMappingStatus.MAPPED,)) -> int:
    return SkuMapping.objects.filter(channel=channel, status__in=list(statuses)).count()
