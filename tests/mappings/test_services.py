import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mappings.models import ErpFulfilmentState, OrderLink, PlatformStatus, SyncType, TransferToggle
from mappings.services import (
    DEFAULT_STATUS_MAPPINGS,
    order_link_record,
    status_mappings_load_defaults,
    transfer_toggles_ensure,
)
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


def updates_of(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]


def test_order_link_record_writes_nothing_when_nothing_changed():
    channel = SalesChannelFactory()
    order_link_record(channel=channel, vtex_order_id="v-1", erp_order_id="42", vtex_status="handling")
    before = OrderLink.objects.get()

    with CaptureQueriesContext(connection) as queries:
        link = order_link_record(channel=channel, vtex_order_id="v-1", erp_order_id="42", vtex_status="handling")

    assert updates_of(queries.captured_queries) == []
    assert (link.updated_at, link.vtex_status_at) == (before.updated_at, before.vtex_status_at)


def test_order_link_record_writes_only_the_fields_that_changed():
    channel = SalesChannelFactory()
    order_link_record(channel=channel, vtex_order_id="v-1", erp_order_id="42", erp_state="SAVED")
    seen = OrderLink.objects.get()

    with CaptureQueriesContext(connection) as queries:
        link = order_link_record(
            channel=channel, vtex_order_id="v-1", erp_order_id="42", erp_state="SAVED", vtex_status="invoiced"
        )

    [update] = updates_of(queries.captured_queries)
    written = update.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
    assert {"vtex_status", "vtex_status_at", "updated_at"} == {
        column.split("=")[0].strip().strip('"') for column in written.split(", ")
    }
    link.refresh_from_db()
    assert (link.vtex_status, link.erp_state, link.erp_state_at) == ("invoiced", "SAVED", seen.erp_state_at)
    assert link.vtex_status_at is not None
