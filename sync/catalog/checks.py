"""VTEX's warehouse and price table lists, plugged into the configuration's checks (``mappings.checks``): a
warehouse map or price table map is saved only with ids VTEX lists for the channel (reference/catalog-sync.md
§3.1, §3.7 #6a). ``mappings`` may call no remote (design §3), so this module lends it the listers."""

from __future__ import annotations

from collections.abc import Callable

from mappings.checks import VTEX_PRICE_TABLES, VTEX_WAREHOUSES, RemoteListUnavailable, checks_register
from mappings.models import SalesChannel
from sync.clients.errors import RemoteError
from sync.remotes import NotConfigured, vtex_logistics_client_for, vtex_pricing_client_for


def _listed(channel: SalesChannel, build: Callable, read: Callable) -> list[str] | None:
    """Ids VTEX lists for ``channel``; None when it has no VTEX credentials yet (saved unchecked, as
    ``mappings.checks`` says); ``RemoteListUnavailable`` with a message for the person saving when VTEX does
    not answer or refuses (never a credential: the error's text is VTEX's and the call's path)."""
    if not channel.has_vtex_credentials:
        return None
    try:
        client = build(channel)
    except NotConfigured:
        return None
    try:
        return list(read(client))
    except RemoteError as exc:
        raise RemoteListUnavailable(f"VTEX answered {exc.status or 'nothing'} ({exc.message}).") from None
    finally:
        client.close()


def vtex_warehouse_ids(channel: SalesChannel) -> list[str] | None:
    """The ids of the channel's VTEX warehouses (Logistics: List all warehouses), exactly as VTEX writes them."""
    return _listed(channel, vtex_logistics_client_for, lambda c: [w.id for w in c.list_warehouses()])


def vtex_price_table_ids(channel: SalesChannel) -> list[str] | None:
    """The channel's VTEX price tables (Pricing: List price tables)."""
    return _listed(channel, vtex_pricing_client_for, lambda c: c.list_price_tables())


def catalog_checks_register() -> None:
    checks_register(kind=VTEX_WAREHOUSES, lister=vtex_warehouse_ids)
    checks_register(kind=VTEX_PRICE_TABLES, lister=vtex_price_table_ids)
