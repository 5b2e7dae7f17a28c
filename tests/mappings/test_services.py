import pytest

from mappings.models import ErpFulfilmentState, PlatformStatus, SyncType, TransferToggle
from mappings.services import DEFAULT_STATUS_MAPPINGS, status_mappings_load_defaults, transfer_toggles_ensure
from tests.factories import SalesChannelFactory, StatusMappingFactory

pytestmark = pytest.mark.django_db


def test_load_defaults_creates_the_seed_table():
    channel = SalesChannelFactory()
    assert status_mappings_load_defaults(channel=channel) == 5
    assert dict(channel.status_mappings.values_list("erp_state", "platform_status")) == {
        "confirmed": "processing",
        "partially_shipped": "partially_fulfilled",
        "fully_shipped": "fulfilled",
        "cancelled": "cancelled",
        "returned": "refunded",
    }
    assert len(DEFAULT_STATUS_MAPPINGS) == len(ErpFulfilmentState.values)


def test_load_defaults_keeps_edited_mappings_and_is_idempotent():
    channel = SalesChannelFactory()
    StatusMappingFactory(
        channel=channel, erp_state=ErpFulfilmentState.CANCELLED, platform_status=PlatformStatus.IGNORED
    )
    assert status_mappings_load_defaults(channel=channel) == 4
    assert status_mappings_load_defaults(channel=channel) == 0
    assert channel.status_mappings.get(erp_state="cancelled").platform_status == "ignored"


def test_toggles_ensure_restores_a_missing_toggle_without_touching_others():
    channel = SalesChannelFactory()
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.TRACKING_UPLOAD).update(enabled=False)
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.ORDER_DOWNLOAD).delete()

    toggles = {t.sync_type: t.enabled for t in transfer_toggles_ensure(channel=channel)}

    assert set(toggles) == set(SyncType.values)
    assert toggles[SyncType.TRACKING_UPLOAD] is False
    assert toggles[SyncType.ORDER_DOWNLOAD] is True
