"""Reads of the configuration. The sync machinery reads configuration only through here."""

from __future__ import annotations

import secrets
from functools import lru_cache

from django.conf import settings
from django.db.models import Q
from django.views.decorators.debug import sensitive_variables

from mappings.models import CarrierCode, ChannelKind, OrderLink, SalesChannel, StatusMapping, TransferToggle
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
