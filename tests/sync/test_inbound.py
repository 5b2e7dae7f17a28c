"""The import's guards before it creates anything in the ERP (sync/inbound.py order_import_work)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sync import inbound
from sync.models import OrderSync
from sync.outcomes import Conflict, Failed, Skipped
from tests.factories import OrderLinkFactory, OrderSyncFactory, SalesChannelFactory
from tests.sync.builders import vtex_item, vtex_order

pytestmark = pytest.mark.django_db


class OneOrderVtex:
    def __init__(self, order):
        self.order = order

    def get_order(self, order_id):
        return self.order


class EmptyVario:
    """VARIO without the order; creating one fails the test."""

    def find_order_ref_by_external_id(self, **kwargs):
        return None

    def create_document(self, request):
        pytest.fail("no ERP order may be created")


@pytest.fixture
def ready_order():
    return replace(
        vtex_order([vtex_item(0, quantity=1, price=1999)], status="ready-for-handling", order_id="1510-01"),
        sales_channel="2",
    )


def run_import(channel, order, monkeypatch, vario=None):
    monkeypatch.setattr(inbound, "vtex_client_for", lambda *a, **k: OneOrderVtex(order))
    monkeypatch.setattr(inbound, "vario_client", lambda recorder=None: vario or EmptyVario())
    sync = OrderSyncFactory(kind=OrderSync.Kind.IMPORT, channel=channel, key=order.order_id)
    return inbound.order_import_work(sync, recorder=None, lock=None)


def test_an_order_of_a_trade_policy_the_channel_does_not_import_is_skipped(ready_order, monkeypatch):
    channel = SalesChannelFactory(code="b2b", vtex_trade_policies=["1"])

    class NoVario:
        def __getattr__(self, name):
            pytest.fail(f"VARIO must not be called ({name})")

    outcome = run_import(channel, ready_order, monkeypatch, vario=NoVario())

    assert outcome == Skipped("VTEX order 1510-01 is of trade policy '2'; sales channel b2b imports 1")


def test_an_order_another_channel_of_the_account_imported_is_a_conflict_not_a_twin(ready_order, monkeypatch):
    shop = SalesChannelFactory(code="shop", vtex_account_name="demostore")
    OrderLinkFactory(channel=shop, vtex_order_id="1510-01", erp_order_number="AU-10042")
    b2b = SalesChannelFactory(code="b2b", vtex_account_name="demostore")

    outcome = run_import(b2b, ready_order, monkeypatch)

    assert isinstance(outcome, Conflict)
    assert "already in the ERP as AU-10042, imported by sales channel shop" in outcome.message


def test_a_channel_without_its_vario_ids_fails_naming_them_before_anything_is_created(ready_order, monkeypatch):
    channel = SalesChannelFactory(code="shop", vario_order_type_id="", vario_account_id="")

    outcome = run_import(channel, replace(ready_order, sales_channel=""), monkeypatch)

    assert isinstance(outcome, Failed)
    assert "no VARIO order document type id or collective account id" in outcome.message


def test_a_document_vario_creates_as_another_category_is_a_conflict(ready_order, monkeypatch, redis_conn):
    from sync.clients.dtos import ErpDocument

    class WrongTypeVario(EmptyVario):
        def find_article_id(self, sku):
            return "5001"

        find_article_id_by_ean = find_article_id

        def create_document(self, request):
            return ErpDocument(id="77", number="AN-77", category="CUSTOMER_OFFER", state_key="SAVED", lines=())

    channel = SalesChannelFactory(code="shop", vario_order_type_id="13")
    monkeypatch.setattr(inbound, "vtex_client_for", lambda *a, **k: OneOrderVtex(ready_order))
    monkeypatch.setattr(inbound, "vario_client", lambda recorder=None: WrongTypeVario())
    sync = OrderSyncFactory(kind=OrderSync.Kind.IMPORT, channel=channel, key=ready_order.order_id)

    outcome = inbound.order_import_work(sync, recorder=None, lock=None)

    assert isinstance(outcome, Conflict)
    assert "AN-77 as a CUSTOMER_OFFER" in outcome.message and "document type 13" in outcome.message
    sync.refresh_from_db()
    # Not linked, and the create stays on record: later runs must not make one more such document.
    assert sync.erp_order_id == "" and sync.erp_create_sent_at is not None


def test_a_cancel_while_a_create_has_no_clear_answer_waits_instead_of_accepting_it(ready_order, monkeypatch):
    from django.utils import timezone

    from sync.outcomes import NotYet

    channel = SalesChannelFactory(code="shop")
    cancelling = replace(ready_order, status="cancellation-requested")

    class NoCancelVtex(OneOrderVtex):
        def cancel_order(self, order_id, reason):
            pytest.fail("VTEX must not be told the order never reached the ERP")

    monkeypatch.setattr(inbound, "vtex_client_for", lambda *a, **k: NoCancelVtex(cancelling))
    monkeypatch.setattr(inbound, "vario_client", lambda recorder=None: EmptyVario())
    sync = OrderSyncFactory(
        kind=OrderSync.Kind.IMPORT, channel=channel, key=cancelling.order_id, erp_create_sent_at=timezone.now()
    )

    outcome = inbound.order_import_work(sync, recorder=None, lock=None)

    assert isinstance(outcome, NotYet) and "got no clear answer" in outcome.message


def test_a_create_answered_with_something_unreadable_is_looked_for_not_sent_again(ready_order, monkeypatch, redis_conn):
    from sync.clients.errors import PayloadError
    from sync.outcomes import NotYet

    class UnreadableVario(EmptyVario):
        def find_article_id(self, sku):
            return "5001"

        find_article_id_by_ean = find_article_id

        def create_document(self, request):
            raise PayloadError("unreadable answer", remote="vario", status=201)

    channel = SalesChannelFactory(code="shop")
    outcome = run_import(channel, ready_order, monkeypatch, vario=UnreadableVario())

    assert isinstance(outcome, NotYet)
    assert OrderSync.objects.get(channel=channel).erp_create_sent_at is not None


def test_a_create_the_rate_limiter_held_back_is_forgotten_and_sent_on_the_next_run(
    ready_order, monkeypatch, settings, redis_conn
):
    """The shuffled-feed e2e test's flake: the limiter refused the create (a wait over
    LIMITER_MAX_WAIT_SECONDS) before it was sent, the run kept it as a create without a clear answer,
    and every later run waited for an order that VARIO never got."""
    import uuid

    from sync.clients.dtos import ErpDocument
    from sync.clients.errors import RetryableError
    from sync.clients.limiter import Rate, RemoteLimiter

    limiter = RemoteLimiter(
        remote="vario",
        scope=f"test-{uuid.uuid4().hex}",
        redis_url=settings.REDIS_URL,
        rates={},
        default_rate=Rate(1, 60),
        max_wait=0,
        per_route=False,
    )
    sent = []

    class LimitedVario(EmptyVario):
        def find_article_id(self, sku):
            return "5001"

        find_article_id_by_ean = find_article_id

        def create_document(self, request):
            limiter.acquire("documents")  # as HttpClient does before it sends
            sent.append(request["document"]["externalId"])
            return ErpDocument(id="1042", number="AU-10042", category="CUSTOMER_ORDER", state_key="SAVED", lines=())

    class HandlingVtex(OneOrderVtex):
        def start_handling(self, order_id):
            pass

    channel = SalesChannelFactory(code="shop")
    monkeypatch.setattr(inbound, "vtex_client_for", lambda *a, **k: HandlingVtex(ready_order))
    monkeypatch.setattr(inbound, "vario_client", lambda recorder=None: LimitedVario())
    sync = OrderSyncFactory(kind=OrderSync.Kind.IMPORT, channel=channel, key=ready_order.order_id)
    limiter.acquire("query")  # another call used up VARIO's window

    with pytest.raises(RetryableError) as exc_info:
        inbound.order_import_work(sync, recorder=None, lock=None)

    assert exc_info.value.may_have_applied is False
    sync.refresh_from_db()
    assert sync.erp_create_sent_at is None and sent == []

    limiter.default_rate = None  # the window has passed
    outcome = inbound.order_import_work(sync, recorder=None, lock=None)

    assert outcome.summary.startswith("VTEX order 1510-01 imported as AU-10042")
    assert sent == ["1510-01"]
