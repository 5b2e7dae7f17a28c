"""Writes to the configuration. Callers: admin actions, management commands, signals."""

from __future__ import annotations

from django.db import transaction

from mappings.models import (
    ErpFulfilmentState,
    PlatformStatus,
    SalesChannel,
    StatusMapping,
    SyncType,
    TransferToggle,
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
