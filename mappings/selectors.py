"""Reads of the configuration. The sync machinery reads configuration only through here."""

from __future__ import annotations

from mappings.models import CarrierCode, ChannelKind, OrderLink, SalesChannel, StatusMapping, TransferToggle


def sales_channel_get(*, code: str) -> SalesChannel | None:
    return SalesChannel.objects.filter(code=code).first()


def marketplace_channel_get(*, code: str) -> SalesChannel | None:
    """The external-marketplace channel ``code`` names, whose connector secret authenticates VTEX's
    Channel Order API notifications (reference/vtex.md §7); None for any other channel."""
    return SalesChannel.objects.filter(code=code, kind=ChannelKind.EXTERNAL_MARKETPLACE).first()


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
