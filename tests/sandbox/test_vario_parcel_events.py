"""POST /_sim/vario/parcels/{id}/events: carrier scans on a parcel, shown in GET /vds/shipment/{id}."""

from datetime import datetime

import pytest

from sandbox import clock
from sandbox.deliveries import deliveries_dispatch_due
from tests.support.sandbox_vario import Vario

PARCEL_EVENT = "shipment.parcel.completed"
SCAN = {"date": "2026-03-04", "city": "Leipzig", "state": "SN", "description": "Im Paketzentrum bearbeitet"}


@pytest.fixture
def vario(sim, settings):
    settings.SANDBOX_WEBHOOK_RETRY_DELAYS = [1]
    return Vario(sim)


@pytest.fixture
def shipped(vario) -> dict:
    """A delivered order with one DHL parcel: {"shipment", "parcelId", "delivery"}."""
    order = vario.order()
    return vario.control(
        f"orders/{order['id']}/deliver", {"carrier": "DHL", "trackingNumber": "00340434161234567890"}, expect=201
    ).json()


def scan(vario, parcel_id, body, expect=201):
    return vario.control(f"parcels/{parcel_id}/events", body, expect=expect).json()


def parcel_of(vario, shipped) -> dict:
    [parcel] = vario.get(f"/vds/shipment/{shipped['shipment']['id']}").json()["parcels"]
    return parcel


def test_a_new_parcel_has_no_events_and_is_not_delivered(vario, shipped):
    parcel = parcel_of(vario, shipped)
    assert (parcel["events"], parcel["deliveredAt"]) == ([], None)


def test_events_are_appended_in_order_and_shown_in_the_shipment(vario, shipped):
    scan(vario, shipped["parcelId"], SCAN)
    second = {"date": "2026-03-05", "city": "Berlin", "state": "BE", "description": "In Zustellung"}
    answer = scan(vario, shipped["parcelId"], second)

    assert answer["parcelId"] == shipped["parcelId"]
    assert answer["shipment"]["parcels"][0]["events"] == [SCAN, second]
    parcel = parcel_of(vario, shipped)
    assert parcel["events"] == [SCAN, second]
    assert parcel["deliveredAt"] is None


def test_delivered_sets_delivered_at_on_the_simulated_clock(vario, shipped):
    clock.set_offset(3600)
    expected = clock.now()

    scan(vario, shipped["parcelId"], {**SCAN, "description": "Zugestellt", "delivered": True})

    delivered_at = parcel_of(vario, shipped)["deliveredAt"]
    assert delivered_at.endswith("Z")
    moment = datetime.fromisoformat(delivered_at.replace("Z", "+00:00"))
    assert abs((moment - expected).total_seconds()) < 5


def test_an_event_raises_the_shipment_version(vario, shipped):
    before = vario.get(f"/vds/shipment/{shipped['shipment']['id']}").json()["version"]
    scan(vario, shipped["parcelId"], SCAN)
    after = vario.get(f"/vds/shipment/{shipped['shipment']['id']}").json()["version"]
    assert int(after) == int(before) + 1


def test_an_event_fires_parcel_completed_again(vario, shipped, receiver):
    vario.register(PARCEL_EVENT, receiver.url)

    scan(vario, shipped["parcelId"], SCAN)
    deliveries_dispatch_due()

    assert [body for body, _ in receiver.received] == [
        {"shipmentId": int(shipped["shipment"]["id"]), "parcelId": int(shipped["parcelId"])}
    ]


def test_city_and_state_may_be_omitted(vario, shipped):
    scan(vario, shipped["parcelId"], {"date": "2026-03-04", "description": "Sendung elektronisch angekündigt"})
    [event] = parcel_of(vario, shipped)["events"]
    assert event == {
        "date": "2026-03-04",
        "city": None,
        "state": None,
        "description": "Sendung elektronisch angekündigt",
    }


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"city": "Leipzig", "description": "x"}, "date is required"),
        ({**SCAN, "date": "04.03.2026"}, "YYYY-MM-DD"),
        ({**SCAN, "date": "2026-03-04T10:00:00Z"}, "YYYY-MM-DD"),
        ({**SCAN, "description": ""}, "description is required"),
        ({"date": "2026-03-04"}, "description is required"),
        ({**SCAN, "city": 7}, "city must be a string"),
        ({**SCAN, "delivered": "yes"}, "delivered must be true or false"),
        ({**SCAN, "time": "10:00"}, "Unrecognized"),
    ],
)
def test_invalid_events_are_400_and_change_nothing(vario, shipped, receiver, body, fragment):
    vario.register(PARCEL_EVENT, receiver.url)

    answer = scan(vario, shipped["parcelId"], body, expect=400)

    assert fragment in answer["error"]
    assert parcel_of(vario, shipped)["events"] == []
    deliveries_dispatch_due()
    assert receiver.received == []


def test_no_body_is_400(vario, shipped):
    assert vario.control(f"parcels/{shipped['parcelId']}/events").status_code == 400


def test_unknown_parcel_is_404(vario, shipped):
    assert "Parcel 999 does not exist" in scan(vario, "999", SCAN, expect=404)["error"]
    assert scan(vario, "abc", SCAN, expect=404)


def test_a_delivered_parcel_takes_no_further_events(vario, shipped):
    scan(vario, shipped["parcelId"], {**SCAN, "delivered": True})
    answer = scan(vario, shipped["parcelId"], SCAN, expect=409)
    assert "delivered already" in answer["error"]
    assert len(parcel_of(vario, shipped)["events"]) == 1


def test_only_post_is_allowed(vario, shipped):
    assert vario.client.get(f"/_sim/vario/parcels/{shipped['parcelId']}/events").status_code == 405


def test_events_are_in_the_raw_order_state(vario, shipped):
    scan(vario, shipped["parcelId"], SCAN)
    order_id = vario.get(f"/erp/documents/{shipped['delivery']['id']}").json()["lines"][0]["customerOrderLineRef"][
        "documentId"
    ]
    [shipment] = vario.state(order_id)["shipments"]
    assert shipment["parcels"][0]["events"] == [SCAN]
