"""External-marketplace approval (sync/outbound.py ``_marketplace_approval``): what goes to VTEX."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import responses

from mappings.models import ChannelKind, SalesChannel
from portal.redaction import MASK
from sync import outbound
from sync.outcomes import Failed, NotYet
from sync.remotes import vtex_client_for
from tests.factories import OrderSyncFactory, SalesChannelFactory
from tests.sync.builders import vtex_item, vtex_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketplace():
    return SalesChannelFactory(
        code="mkp",
        vtex_account_name="demostore",
        kind=ChannelKind.EXTERNAL_MARKETPLACE,
        connector_name="vario-portal",
        connector_endpoint="https://portal.example.com/webhooks/vtex/mkp",
    )


def awaiting_approval():
    return replace(
        vtex_order([vtex_item(1)], status="waiting-for-manual-authorization", order_id="MKP-1001-01"),
        marketplace_order_id="MKT-1001",
    )


class NoVtex:
    def __getattr__(self, name):
        pytest.fail(f"VTEX must not be called ({name})")


@pytest.mark.parametrize(
    "endpoint",
    ["https://portal.example.com/webhooks/vtex/mkp?", "https://elsewhere.example.com/collect"],
)
def test_a_stored_endpoint_the_secret_could_leave_by_fails_before_vtex_is_called(marketplace, endpoint):
    # Written around the admin's form (or saved before the endpoint rules): the run still sends nothing.
    SalesChannel.objects.filter(pk=marketplace.pk).update(connector_endpoint=endpoint)
    sync = OrderSyncFactory(channel=SalesChannel.objects.get(code="mkp"), key="1")

    outcome = outbound._marketplace_approval(
        vtex=NoVtex(), sync=sync, vtex_order=awaiting_approval(), status="approved"
    )

    assert isinstance(outcome, Failed)
    assert outcome.message.startswith("Connector endpoint of sales channel mkp refused:")


@responses.activate
def test_the_status_update_sends_the_secret_endpoint_and_records_it_with_only_the_secret_masked(
    marketplace, redis_conn
):
    sync = OrderSyncFactory(channel=marketplace, key="1042")
    put = responses.put(
        f"{marketplace.vtex_base_url}/api/order-integration/orders/status",
        json={"marketplaceOrderId": "MKT-1001", "code": "SOI003", "success": True, "message": "enqueued"},
    )
    calls = []
    vtex = vtex_client_for(marketplace, recorder=calls.append)

    outcome = outbound._marketplace_approval(vtex=vtex, sync=sync, vtex_order=awaiting_approval(), status="approved")

    assert isinstance(outcome, NotYet)
    sent = json.loads(put.calls[0].request.body)
    secret = marketplace.connector_secret
    assert sent["connectorEndpoint"] == f"https://portal.example.com/webhooks/vtex/mkp/{secret}"
    assert sent["connectorEndpoint"] == marketplace.connector_notification_endpoint
    [call] = calls
    assert secret not in call.request_excerpt
    assert f'"connectorEndpoint": "https://portal.example.com/webhooks/vtex/mkp/{MASK}"' in call.request_excerpt
    assert '"connectorName": "vario-portal"' in call.request_excerpt
