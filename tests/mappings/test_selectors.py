import pytest

from mappings import selectors
from mappings.models import ErpFulfilmentState, SyncType, TransferToggle
from tests.factories import CarrierCodeFactory, SalesChannelFactory, StatusMappingFactory

pytestmark = pytest.mark.django_db


def test_transfer_enabled_follows_the_toggle():
    channel = SalesChannelFactory()
    assert selectors.transfer_enabled(channel=channel, sync_type=SyncType.ORDER_STATUS_UPLOAD) is True
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.ORDER_STATUS_UPLOAD).update(enabled=False)
    assert selectors.transfer_enabled(channel=channel, sync_type=SyncType.ORDER_STATUS_UPLOAD) is False


def test_a_missing_toggle_counts_as_off():
    channel = SalesChannelFactory()
    TransferToggle.objects.filter(channel=channel).delete()
    assert selectors.transfer_enabled(channel=channel, sync_type=SyncType.ORDER_DOWNLOAD) is False


def test_transfers_enabled_lists_only_the_switched_on_types_of_that_channel():
    channel, other = SalesChannelFactory(), SalesChannelFactory()
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.TRACKING_UPLOAD).update(enabled=False)
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.RETURNS_UPLOAD).delete()
    TransferToggle.objects.filter(channel=other).update(enabled=True)

    enabled = selectors.transfers_enabled(channel=channel)

    assert SyncType.ORDER_STATUS_UPLOAD in enabled
    assert SyncType.TRACKING_UPLOAD not in enabled
    assert SyncType.RETURNS_UPLOAD not in enabled
    assert enabled == {t.sync_type for t in TransferToggle.objects.filter(channel=channel) if t.enabled}


def test_status_mapping_get_returns_none_for_an_unmapped_state():
    mapping = StatusMappingFactory(erp_state=ErpFulfilmentState.FULLY_SHIPPED)
    assert selectors.status_mapping_get(channel=mapping.channel, erp_state="fully_shipped") == mapping
    assert selectors.status_mapping_get(channel=mapping.channel, erp_state="returned") is None


def test_carrier_code_get_is_per_channel():
    carrier = CarrierCodeFactory(erp_carrier_key="UPS")
    other = SalesChannelFactory(code="other")
    assert selectors.carrier_code_get(channel=carrier.channel, erp_carrier_key="UPS") == carrier
    assert selectors.carrier_code_get(channel=other, erp_carrier_key="UPS") is None


def test_active_channels_only():
    SalesChannelFactory(code="on")
    SalesChannelFactory(code="off", active=False)
    assert [c.code for c in selectors.sales_channels_active()] == ["on"]


def test_the_notification_reads_only_an_external_marketplace_channel_with_its_secret():
    shop = SalesChannelFactory(code="shop")
    marketplace = SalesChannelFactory(
        code="mkp",
        kind="external_marketplace",
        connector_name="vario-portal",
        connector_endpoint="https://portal.example.com/webhooks/vtex/mkp",
    )

    found = selectors.marketplace_channel_authenticated(code="mkp", secret=marketplace.connector_secret)
    assert found == marketplace
    assert found.get_deferred_fields() >= {"vtex_app_token", "vtex_hook_secret"}  # not decrypted
    assert selectors.marketplace_channel_authenticated(code="mkp", secret=marketplace.connector_secret + "x") is None
    assert selectors.marketplace_channel_authenticated(code=shop.code, secret=shop.connector_secret) is None
    assert selectors.marketplace_channel_authenticated(code="nope", secret=marketplace.connector_secret) is None


def test_sales_channels_of_vario_are_the_linked_ones_by_code_and_a_few_at_most():
    for code in ("d", "b", "c", "a"):
        SalesChannelFactory(code=code, vario_sales_channel_id="7")
    SalesChannelFactory(code="other", vario_sales_channel_id="8")

    assert [c.code for c in selectors.sales_channels_of_vario(vario_sales_channel_id="7")] == ["a", "b", "c"]
    assert [c.code for c in selectors.sales_channels_of_vario(vario_sales_channel_id="8")] == ["other"]
    assert selectors.sales_channels_of_vario(vario_sales_channel_id="9") == []
