"""VARIO simulator, catalog webhooks: sales_channel.stockChange, article-price.*, article(sales-channel-id=…).*
with the bodies of reference/catalog-sync.md §3.3, through the one delivery machinery (registration, app
token, retries), and the catalog faults: delays that reorder, duplicates, hold and release (bursts)."""

from collections import Counter
from itertools import pairwise

import jwt
import pytest

from sandbox import clock
from sandbox.deliveries import deliveries_dispatch_due
from sandbox.models import Delivery
from sandbox.vario.seed import DEMO_APP_IDENTIFIER, DEMO_CLIENT_SECRET
from tests.support.sandbox_vario import Vario

STOCK = "sales_channel.stockChange"
PRICE_CREATE = "article-price.create"
PRICE_UPDATE = "article-price.update"
CHANNEL_7_UPDATE = "article(sales-channel-id=7).update"


@pytest.fixture
def vario(sim, settings):
    settings.SANDBOX_WEBHOOK_RETRY_DELAYS = [1, 2]
    return Vario(sim)


def listen(vario, receiver, *events: str) -> None:
    for event in events:
        response = vario.register(event, f"{receiver.url}/{event}")
        assert response.status_code == 200, response.content


def received(receiver) -> list[tuple[str, object]]:
    return [(path.lstrip("/"), body) for path, (body, _) in zip(receiver.paths, receiver.received, strict=True)]


def dispatch_all() -> None:
    while deliveries_dispatch_due():
        pass


def set_stock(vario, article_id: int, quantity, storage: str = "1"):
    return vario.control(
        f"articles/{article_id}/stock", {"storageId": storage, "quantityInStock": quantity}, expect=200
    )


# --- events and bodies ----------------------------------------------------------------------------


def test_a_stock_change_sends_the_article_id_with_the_app_token(vario, receiver):
    listen(vario, receiver, STOCK)

    set_stock(vario, 77, 5)
    dispatch_all()

    [(body, headers)] = receiver.received
    assert body == {"id": 77}
    claims = jwt.decode(
        headers["Authorization"].removeprefix("Bearer "),
        DEMO_CLIENT_SECRET,
        algorithms=["HS256"],
        audience=DEMO_APP_IDENTIFIER,
    )
    assert claims["exp"] - claims["iat"] == 60
    assert headers["User-Agent"] == "VARIO-Cloud-Webhook"


def test_every_stock_change_of_a_bulk_fires_once_and_lost_webhooks_fire_none(vario, receiver):
    listen(vario, receiver, STOCK)
    changes = [{"articleId": a, "storageId": "1", "quantityInStock": 1} for a in (77, 78, 77)]

    first = vario.control("stock", {"changes": changes}, expect=200).json()
    second = vario.control("stock", {"changes": changes, "webhooks": False}, expect=200).json()
    dispatch_all()

    assert (first["webhooks"], second["webhooks"]) == (3, 0)
    assert [body for _, body in received(receiver)] == [{"id": 77}, {"id": 78}, {"id": 77}]


def test_price_events_carry_article_and_price_ids(vario, receiver):
    listen(vario, receiver, PRICE_CREATE, PRICE_UPDATE)

    created = vario.control("prices", {"articleId": 78, "priceGroupId": "4", "netPrice": 9}, expect=201).json()
    vario.control("prices/5501", {"grossPrice": 17.99}, expect=200)
    vario.client.delete("/_sim/vario/prices/5535")
    dispatch_all()

    price_id = int(created["id"])
    assert received(receiver) == [
        (PRICE_CREATE, {"articleId": 78, "priceId": price_id, "listingId": None, "categoryId": None}),
        (PRICE_UPDATE, {"articleId": 77, "priceId": 5501, "listingId": None, "categoryId": None}),
        (PRICE_UPDATE, {"articleId": 77, "priceId": 5535, "listingId": None, "categoryId": None}),
    ]


def test_rrp_changes_fire_only_when_asked(vario, receiver):
    listen(vario, receiver, PRICE_UPDATE)

    vario.control("recommended-retail-prices/7001", {"value": 17.5}, expect=200)
    vario.control("recommended-retail-prices/7002", {"value": 17.5, "notify": True}, expect=200)
    dispatch_all()

    assert [body for _, body in received(receiver)] == [
        {"articleId": 78, "priceId": None, "listingId": None, "categoryId": None}
    ]


def test_listing_and_article_changes_fire_the_channel_events(vario, receiver):
    vario.control("sales-channels", {"id": "8", "label": "VTEX AT"}, expect=201)
    listen(
        vario, receiver, CHANNEL_7_UPDATE, "article(sales-channel-id=8).create", "article(sales-channel-id=8).update"
    )
    listen(vario, receiver, "article.update")

    vario.control("listings/901", {"listed": False}, expect=200)
    listing = vario.control("articles/77/listings", {"salesChannelId": "8"}, expect=201).json()
    vario.control("articles/77", {"ean": "4006381999999"}, expect=200)
    dispatch_all()

    new = int(listing["id"])
    assert received(receiver) == [
        (CHANNEL_7_UPDATE, {"articleId": 77, "listingId": 901}),
        ("article(sales-channel-id=8).create", {"articleId": 77, "listingId": new}),
        ("article.update", {"articleId": 77, "listingId": None}),
        (CHANNEL_7_UPDATE, {"articleId": 77, "listingId": 901}),
        ("article(sales-channel-id=8).update", {"articleId": 77, "listingId": new}),
    ]


def test_a_new_sales_channel_fires_its_create_event(vario, receiver):
    listen(vario, receiver, "sales_channel.create")

    vario.control("sales-channels", {"label": "VTEX AT"}, expect=201)
    dispatch_all()

    assert [body for _, body in received(receiver)] == [{"id": 8}]


def test_the_entity_id_switch_renames_the_id_key(vario, receiver):
    vario.control("faults", {"payloadKey": "entityId"}, expect=200)
    listen(vario, receiver, STOCK, PRICE_UPDATE, CHANNEL_7_UPDATE)

    set_stock(vario, 77, 5)
    vario.control("prices/5501", {"grossPrice": 17.99}, expect=200)
    vario.control("listings/901", {"listed": False}, expect=200)
    dispatch_all()

    assert [body for _, body in received(receiver)] == [
        {"entityId": 77},
        {"entityId": 77, "priceId": 5501, "listingId": None, "categoryId": None},
        {"entityId": 77, "listingId": 901},
    ]


def test_a_refused_change_fires_nothing(vario, receiver):
    listen(vario, receiver, STOCK, PRICE_CREATE)

    vario.control("articles/77/stock", {"storageId": "2", "quantityInStock": 1}, expect=422)
    vario.control("prices", {"articleId": 77, "grossPrice": 1, "priceGroupId": "2"}, expect=422)

    assert Delivery.objects.count() == 0


def test_bulk_seeding_fires_nothing(vario, receiver):
    listen(vario, receiver, STOCK, PRICE_CREATE, "article(sales-channel-id=7).create")

    vario.control("catalog/bulk", {"count": 3, "articleNumberPrefix": "B-", "listings": [{"salesChannelId": "7"}]})

    assert Delivery.objects.count() == 0


def test_a_failed_delivery_is_retried_with_the_same_body(vario, receiver):
    listen(vario, receiver, STOCK)
    receiver.fail_next = 1

    set_stock(vario, 77, 5)
    deliveries_dispatch_due()
    clock.advance(1)
    deliveries_dispatch_due()

    assert [body for body, _ in receiver.received] == [{"id": 77}, {"id": 77}]
    [log] = vario.client.get("/_sim/vario/webhook-log", {"event": STOCK}).json()
    assert (log["state"], log["sentAttempts"]) == ("SENT", 2)


# --- faults: reordering, duplicates, bursts ---------------------------------------------------------


def test_delays_reorder_deliveries_the_same_way_for_a_seed(vario, receiver):
    listen(vario, receiver, STOCK)
    vario.client.post("/_sim/vario/catalog/faults", {"maxDelaySeconds": 10, "seed": 7}, content_type="application/json")
    changes = [{"articleId": a, "storageId": "1", "quantityInStock": 1} for a in range(76, 96)]

    vario.control("stock", {"changes": changes}, expect=200)
    due = list(Delivery.objects.order_by("id").values_list("next_attempt_at", flat=True))
    deliveries_dispatch_due()
    early = len(receiver.received)
    clock.advance(11)
    dispatch_all()

    sent = [body["id"] for body, _ in receiver.received]
    assert sorted(sent) == list(range(76, 96))
    assert sent != list(range(76, 96))  # later events overtook earlier ones
    assert due != sorted(due)
    assert early < 20  # most waited for their delay
    # The same seed on a fresh sandbox gives the same delays.
    vario.client.post("/_sim/reset")
    vario = Vario(vario.client)  # the reset forgot the access token
    listen(vario, receiver, STOCK)
    vario.client.post("/_sim/vario/catalog/faults", {"maxDelaySeconds": 10, "seed": 7}, content_type="application/json")
    vario.control("stock", {"changes": changes}, expect=200)
    again = list(Delivery.objects.order_by("id").values_list("next_attempt_at", flat=True))
    offsets = [(b - a).total_seconds() for a, b in pairwise(due)]
    again_offsets = [(b - a).total_seconds() for a, b in pairwise(again)]
    assert again_offsets == pytest.approx(offsets, abs=0.5)


def test_duplicates_deliver_an_event_as_many_times_as_copies_says(vario, receiver):
    listen(vario, receiver, STOCK, PRICE_UPDATE)
    vario.client.post("/_sim/vario/catalog/faults", {"duplicateRate": 1, "copies": 3}, content_type="application/json")

    set_stock(vario, 77, 5)
    vario.control("prices/5501", {"grossPrice": 17.99}, expect=200)
    dispatch_all()

    assert Counter(path for path, _ in received(receiver)) == {STOCK: 3, PRICE_UPDATE: 3}
    # Document events are not touched by the catalog faults.
    vario.register("document.customer_order.create", f"{receiver.url}/order")
    vario.order()
    dispatch_all()
    assert Counter(receiver.paths)["/order"] == 1


def test_a_duplicate_rate_below_one_duplicates_some_events(vario, receiver):
    listen(vario, receiver, STOCK)
    vario.client.post("/_sim/vario/catalog/faults", {"duplicateRate": 0.5, "seed": 1}, content_type="application/json")
    changes = [{"articleId": a, "storageId": "1", "quantityInStock": 1} for a in range(76, 96)]

    vario.control("stock", {"changes": changes}, expect=200)

    per_article = Counter(body["id"] for body in Delivery.objects.values_list("body", flat=True))
    assert set(per_article) == set(range(76, 96))
    assert set(per_article.values()) == {1, 2}


def test_held_deliveries_go_out_together_when_released(vario, receiver):
    listen(vario, receiver, STOCK)
    vario.client.post("/_sim/vario/catalog/faults", {"hold": True, "seed": 3}, content_type="application/json")
    changes = [{"articleId": 77, "storageId": "1", "quantityInStock": q} for q in range(20, -1, -1)]

    vario.control("stock", {"changes": changes}, expect=200)
    clock.advance(3600)
    dispatch_all()
    held = len(receiver.received)
    released = vario.control("catalog/release", {"shuffle": True}, expect=200).json()
    dispatch_all()

    assert held == 0
    assert released == {"released": 21}
    assert len(receiver.received) == 21
    log = vario.client.get("/_sim/vario/webhook-log", {"event": STOCK}).json()
    sent_order = [entry["id"] for entry in sorted(log, key=lambda e: e["sentTimestamp"] or "")]
    assert all(entry["state"] == "SENT" for entry in log)
    assert sorted(sent_order) == [entry["id"] for entry in log]
    assert vario.control("catalog/release", None, expect=200).json() == {"released": 0}


def test_released_deliveries_keep_their_order_unless_shuffled(vario, receiver):
    listen(vario, receiver, STOCK)
    vario.client.post("/_sim/vario/catalog/faults", {"hold": True}, content_type="application/json")
    changes = [{"articleId": a, "storageId": "1", "quantityInStock": 1} for a in range(76, 86)]
    vario.control("stock", {"changes": changes}, expect=200)

    vario.control("catalog/release", {}, expect=200)
    dispatch_all()

    assert [body["id"] for body, _ in receiver.received] == list(range(76, 86))


def test_shuffled_release_changes_the_order(vario, receiver):
    listen(vario, receiver, STOCK)
    vario.client.post("/_sim/vario/catalog/faults", {"hold": True, "seed": 5}, content_type="application/json")
    changes = [{"articleId": a, "storageId": "1", "quantityInStock": 1} for a in range(76, 96)]
    vario.control("stock", {"changes": changes}, expect=200)

    vario.control("catalog/release", {"shuffle": True}, expect=200)
    dispatch_all()

    sent = [body["id"] for body, _ in receiver.received]
    assert sorted(sent) == list(range(76, 96)) and sent != list(range(76, 96))


def test_faults_are_read_set_and_switched_off(vario):
    body = {"duplicateRate": 0.25, "copies": 4, "maxDelaySeconds": 2.5, "hold": True, "seed": "x"}

    set_answer = vario.client.post("/_sim/vario/catalog/faults", body, content_type="application/json").json()
    read = vario.client.get("/_sim/vario/catalog/faults").json()
    off = vario.client.delete("/_sim/vario/catalog/faults").json()

    assert set_answer == read == {**body, "draws": 0}
    assert off == {"duplicateRate": 0.0, "copies": 2, "maxDelaySeconds": 0.0, "hold": False, "seed": 0, "draws": 0}


@pytest.mark.parametrize(
    "body",
    [
        {"duplicateRate": 2},
        {"duplicateRate": "half"},
        {"copies": 1},
        {"copies": 11},
        {"maxDelaySeconds": -1},
        {"maxDelaySeconds": 3601},
        {"hold": "yes"},
        {"seed": [1]},
        {"reorder": True},
        [],
    ],
)
def test_hostile_fault_bodies_are_400s(vario, body):
    response = vario.client.post("/_sim/vario/catalog/faults", body, content_type="application/json")

    assert response.status_code == 400, response.content


# --- replay and burst -----------------------------------------------------------------------------


def test_an_event_replayed_late_and_repeated(vario, receiver):
    listen(vario, receiver, STOCK, CHANNEL_7_UPDATE, PRICE_UPDATE)

    answer = vario.control("catalog/events", {"event": STOCK, "articleId": 77, "copies": 3, "delaySeconds": 5})
    vario.control("catalog/events", {"event": CHANNEL_7_UPDATE, "articleId": "77", "listingId": "901"}, expect=200)
    vario.control("catalog/events", {"event": PRICE_UPDATE, "articleId": 77, "priceId": 5501}, expect=200)
    dispatch_all()
    before_delay = received(receiver)
    clock.advance(6)
    dispatch_all()

    assert answer.json() == {"queued": 3, "body": {"id": 77}}
    assert before_delay == [
        (CHANNEL_7_UPDATE, {"articleId": 77, "listingId": 901}),
        (PRICE_UPDATE, {"articleId": 77, "priceId": 5501, "listingId": None, "categoryId": None}),
    ]
    assert received(receiver)[2:] == [(STOCK, {"id": 77})] * 3


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"event": "document.customer_order.create", "articleId": 77}, 400),
        ({"event": "article(sales-channel-id=x).update", "articleId": 77}, 400),
        ({"event": STOCK}, 400),
        ({"event": STOCK, "articleId": 5}, 422),
        ({"event": STOCK, "articleId": 77, "copies": 0}, 400),
        ({"event": STOCK, "articleId": 77, "delaySeconds": -1}, 400),
        ({"event": STOCK, "articleId": 77, "extra": 1}, 400),
    ],
)
def test_hostile_replays(vario, body, status):
    vario.control("catalog/events", body, expect=status)

    assert Delivery.objects.count() == 0


def test_a_burst_for_one_article_spread_over_a_second(vario, receiver):
    listen(vario, receiver, STOCK)
    changes = [{"articleId": 77, "storageId": "1", "quantityInStock": q} for q in range(20, -1, -1)]

    answer = vario.control("stock", {"changes": changes, "withinSeconds": 1}, expect=200).json()
    dispatch_all()

    assert answer["applied"] == 21 and answer["webhooks"] == 21
    created = list(Delivery.objects.order_by("id").values_list("created_at", flat=True))
    assert (created[-1] - created[0]).total_seconds() >= 0.9
    assert [body for body, _ in receiver.received] == [{"id": 77}] * 21
    row = vario.rows("SELECT quantityInStock FROM article.queryArticleStorages WHERE articleId = 77 AND storage.id = 1")
    assert row == [{"quantityInStock": 0}]
