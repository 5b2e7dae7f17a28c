"""Writes to the configuration. Callers: admin actions, management commands, signals."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from mappings.models import (
    ErpFulfilmentState,
    OrderLink,
    PlatformStatus,
    SalesChannel,
    StatusMapping,
    SyncType,
    TransferToggle,
    connector_secret_new,
)

# The seed table: what a merchant expects without having configured anything.
DEFAULT_STATUS_MAPPINGS: dict[str, str] = {
    ErpFulfilmentState.CONFIRMED: PlatformStatus.PROCESSING,
    ErpFulfilmentState.PARTIALLY_SHIPPED: PlatformStatus.PARTIALLY_FULFILLED,
    ErpFulfilmentState.FULLY_SHIPPED: PlatformStatus.FULFILLED,
    ErpFulfilmentState.CANCELLED: PlatformStatus.CANCELLED,
    ErpFulfilmentState.RETURNED: PlatformStatus.REFUNDED,
}


def transfer_toggles_ensure(*, channel: SalesChannel) -> list[TransferToggle]:
    """Create the missing toggles of ``channel`` (enabled), keep existing ones as they are."""
    existing = set(channel.transfer_toggles.values_list("sync_type", flat=True))
    missing = [TransferToggle(channel=channel, sync_type=t) for t in SyncType.values if t not in existing]
    TransferToggle.objects.bulk_create(missing, ignore_conflicts=True)
    return list(channel.transfer_toggles.all())


@transaction.atomic
def status_mappings_load_defaults(*, channel: SalesChannel) -> int:
    """Add the seed mappings that ``channel`` lacks; never overwrite an edited one. Returns how many."""
    existing = set(channel.status_mappings.values_list("erp_state", flat=True))
    new = [
        StatusMapping(channel=channel, erp_state=state, platform_status=status)
        for state, status in DEFAULT_STATUS_MAPPINGS.items()
        if state not in existing
    ]
    StatusMapping.objects.bulk_create(new)
    return len(new)


def order_link_record(
    *,
    channel: SalesChannel,
    vtex_order_id: str,
    erp_order_id: str = "",
    erp_order_number: str = "",
    marketplace_order_id: str = "",
    vtex_status: str = "",
    erp_state: str = "",
) -> OrderLink:
    """Create or update the link of one order; empty arguments leave what is known untouched.

    Writes only the fields that differ, and nothing when none does: every run records the statuses it
    saw, mostly unchanged, and a full save would also write back the other fields as this copy read
    them, over what a concurrent run (the import, a status sync) recorded meanwhile.
    """
    now = timezone.now()
    link, _ = OrderLink.objects.get_or_create(channel=channel, vtex_order_id=vtex_order_id)
    given = {
        "erp_order_id": erp_order_id,
        "erp_order_number": erp_order_number,
        "marketplace_order_id": marketplace_order_id,
        "vtex_status": vtex_status,
        "erp_state": erp_state,
    }
    changed = [field for field, value in given.items() if value and getattr(link, field) != value]
    if not changed:
        return link
    for field in changed:
        setattr(link, field, given[field])
    seen_at = [f"{field}_at" for field in changed if field in ("vtex_status", "erp_state")]  # when it changed
    for field in seen_at:
        setattr(link, field, now)
    link.save(update_fields=[*changed, *seen_at, "updated_at"])
    return link


def sales_channel_hook_url_set(*, channel: SalesChannel, url: str) -> bool:
    """Record where VTEX's hook of ``channel`` points (so it can be watched); True when it changed."""
    if channel.vtex_hook_url == url:
        return False  # no save: updated_at keeps saying when the configuration last changed
    channel.vtex_hook_url = url
    channel.save(update_fields=["vtex_hook_url", "updated_at"])
    return True


def sales_channel_connector_secret_rotate(*, channel: SalesChannel, grace_seconds: int) -> SalesChannel:
    """Give ``channel`` a new connector secret; the current one becomes the previous one, which the
    notification endpoint accepts for ``grace_seconds`` more (stored on the row, so a later change of
    the default does not move it). ``grace_seconds=0`` revokes it at once: a secret that leaked.

    VTEX learns the new endpoint with the next Channel Order API status update; results it had
    queued for the old one are refused once the previous secret is no longer valid. A second rotation
    within the grace period drops the secret before the previous one. Row-locked, so two rotations at
    once cannot both keep the same previous secret.
    """
    if grace_seconds < 0:
        raise ValueError("grace_seconds must be 0 or more")
    with transaction.atomic():
        locked = SalesChannel.objects.select_for_update().get(pk=channel.pk)
        keep = grace_seconds > 0
        locked.connector_secret_previous = locked.connector_secret if keep else ""
        locked.connector_secret_previous_valid_until = (
            timezone.now() + timedelta(seconds=grace_seconds) if keep else None
        )
        locked.connector_secret = connector_secret_new()
        locked.save(
            update_fields=[
                "connector_secret",
                "connector_secret_previous",
                "connector_secret_previous_valid_until",
                "updated_at",
            ]
        )
    return locked
