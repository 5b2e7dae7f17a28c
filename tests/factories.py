import factory

from mappings.models import (
    CarrierCode,
    ErpFulfilmentState,
    OrderLink,
    PlatformStatus,
    SalesChannel,
    StatusMapping,
)
from sync.models import FeedPollState, InboxEvent, OrderSync


class SalesChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesChannel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda o: f"Channel {o.code}")
    vtex_account_name = factory.Sequence(lambda n: f"store{n}")
    vtex_app_key = factory.Sequence(lambda n: f"vtexappkey-store{n}-ABCDEF")
    vtex_app_token = factory.Sequence(lambda n: f"TOKEN-SECRET-{n:04d}-do-not-leak")
    vario_sales_channel_id = "7"
    vario_order_type_id = "12"  # the sandbox's CUSTOMER_ORDER type and collective account
    vario_account_id = "501"


class StatusMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StatusMapping

    channel = factory.SubFactory(SalesChannelFactory)
    erp_state = ErpFulfilmentState.FULLY_SHIPPED
    platform_status = PlatformStatus.FULFILLED


class CarrierCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarrierCode

    channel = factory.SubFactory(SalesChannelFactory)
    erp_carrier_key = factory.Iterator(["DHL", "UPS", "DPD", "GLS"])
    vtex_courier_name = factory.LazyAttribute(lambda o: o.erp_carrier_key.title())
    tracking_url_template = "https://track.example.com/t/{tracking_number}"


class OrderLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLink

    channel = factory.SubFactory(SalesChannelFactory)
    vtex_order_id = factory.Sequence(lambda n: f"{1510581234000 + n}-01")
    erp_order_id = factory.Sequence(lambda n: str(1000 + n))
    erp_order_number = factory.Sequence(lambda n: f"AU-{10000 + n}")
    vtex_status = "handling"
    erp_state = "SAVED"


class OrderSyncFactory(factory.django.DjangoModelFactory):
    """A pending status sync of an ERP order (``key``), as ``order_sync_request`` leaves it; the ids the
    run fills in (erp_order_id, erp_order_number, vtex_order_id) stay blank unless a test gives them.
    ``kind=OrderSync.Kind.IMPORT`` with a VTEX order id as ``key`` for an import."""

    class Meta:
        model = OrderSync

    class Params:
        failed = factory.Trait(status=OrderSync.Status.FAILED, message="VTEX rejected the invoice")
        parked = factory.Trait(
            status=OrderSync.Status.PARKED,
            needs_mapping="carrier:HERMES",
            message="No carrier code for the ERP carrier key HERMES",
        )

    kind = OrderSync.Kind.STATUS
    channel = factory.SubFactory(SalesChannelFactory)
    key = factory.Sequence(lambda n: str(2000 + n))


class InboxEventFactory(factory.django.DjangoModelFactory):
    """A pending VARIO delivery-note webhook for document ``entity_id``, as the receiver stores it."""

    class Meta:
        model = InboxEvent

    class Params:
        failed = factory.Trait(
            status=InboxEvent.Status.FAILED, attempts=5, last_error="The ERP does not know the document"
        )

    source = InboxEvent.Source.VARIO_WEBHOOK
    event = "document.customer_delivery_document.order_to_delivery"
    entity_id = factory.Sequence(lambda n: str(3000 + n))
    payload = factory.LazyAttribute(lambda o: {"id": int(o.entity_id)})
    channel = factory.SubFactory(SalesChannelFactory)


class FeedPollStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeedPollState

    channel = factory.SubFactory(SalesChannelFactory)
    poller = "web1:4242"


# --- bulk runs (sync.bulk) ------------------------------------------------------------------------------------
# Imported here rather than at the top: appended by the bulk runs' admin work without touching the file's head.
from datetime import timedelta  # noqa: E402

from django.utils import timezone  # noqa: E402

from sync.bulk.models import BulkRun, BulkRunItem  # noqa: E402


class BulkRunFactory(factory.django.DjangoModelFactory):
    """A queued order status initial sync over a date range, as ``bulk_run_start`` stores it. Traits:
    ``running`` (started, 2 of 4 done), ``finished`` (4 of 4), ``reconciliation`` (a dry reconciliation)."""

    class Meta:
        model = BulkRun

    class Params:
        running = factory.Trait(
            state=BulkRun.State.RUNNING,
            started_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=1)),
            heartbeat_at=factory.LazyFunction(timezone.now),
            total=4,
            done=2,
            changed=1,
            unchanged=1,
        )
        finished = factory.Trait(
            state=BulkRun.State.FINISHED,
            started_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=2)),
            finished_at=factory.LazyFunction(timezone.now),
            total=4,
            done=4,
            changed=1,
            unchanged=3,
        )
        reconciliation = factory.Trait(kind=BulkRun.Kind.RECONCILIATION, dry_run=True)

    channel = factory.SubFactory(SalesChannelFactory)
    kind = BulkRun.Kind.ORDER_STATUS_INITIAL
    scope = factory.LazyFunction(lambda: {"since": "2026-11-01T00:00:00+00:00", "until": "2026-11-08T00:00:00+00:00"})
    started_by = "manager"


class BulkRunItemFactory(factory.django.DjangoModelFactory):
    """A failed item of a run (an ERP order id as its key). ``difference=True`` makes it a reconciliation's
    order with one repairable status difference, on an order link of the run's channel."""

    class Meta:
        model = BulkRunItem

    class Params:
        difference = factory.Trait(
            outcome=BulkRunItem.Outcome.CHANGED,
            detail="",
            order_link=factory.SubFactory(OrderLinkFactory, channel=factory.SelfAttribute("..run.channel")),
            differences=factory.LazyFunction(
                lambda: [
                    {
                        "kind": "status",
                        "title": "VTEX shows handling, the ERP order is fulfilled",
                        "erp": "fulfilled",
                        "vtex": "handling",
                        "repairable": True,
                        "subject": "",
                    }
                ]
            ),
            difference_kinds=" status ",
        )

    run = factory.SubFactory(BulkRunFactory)
    key = factory.Sequence(lambda n: str(5000 + n))
    label = factory.Sequence(lambda n: f"AU-{50000 + n}")
    outcome = BulkRunItem.Outcome.FAILED
    detail = "VTEX rejected the invoice"


# --- stock and prices (mappings: catalog settings, warehouse and price table maps, SKU mappings) ---------------
# Imported here rather than at the top, like the bulk runs' block above.
from mappings.models import (  # noqa: E402
    CatalogSettings,
    MatchedBy,
    PriceTableMapping,
    SkuMapping,
    SkuMappingStatus,
    WarehouseMapping,
)


class CatalogSettingsFactory(factory.django.DjangoModelFactory):
    """A channel's catalog settings, configured for prices (base price group 1, EUR). Every channel gets its
    row when it is created, so this one is the channel's own row, changed (get or create by channel)."""

    class Meta:
        model = CatalogSettings
        django_get_or_create = ("channel",)

    channel = factory.SubFactory(SalesChannelFactory)
    base_price_group_id = "1"
    currency = "EUR"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        settings = super()._create(model_class, *args, **kwargs)
        changed = [name for name, value in kwargs.items() if name != "channel" and getattr(settings, name) != value]
        for name in changed:
            setattr(settings, name, kwargs[name])
        if changed:
            settings.save(update_fields=[*changed, "updated_at"])
        return settings


class WarehouseMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WarehouseMapping

    channel = factory.SubFactory(SalesChannelFactory)
    vario_storage_id = factory.Sequence(lambda n: str(1 + n))
    vtex_warehouse_id = "wh_main"


class PriceTableMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceTableMapping

    channel = factory.SubFactory(SalesChannelFactory)
    vtex_price_table = factory.Sequence(lambda n: f"table{n}")
    vario_price_group_id = "4"


class SkuMappingFactory(factory.django.DjangoModelFactory):
    """An article of the channel mapped to its VTEX SKU by RefId. Traits: ``unmapped``, ``ambiguous``."""

    class Meta:
        model = SkuMapping

    class Params:
        unmapped = factory.Trait(
            vtex_sku_id=None,
            matched_by="",
            status=SkuMappingStatus.UNMAPPED,
            message="No VTEX SKU has this RefId or EAN.",
        )
        ambiguous = factory.Trait(
            vtex_sku_id=None,
            matched_by="",
            status=SkuMappingStatus.AMBIGUOUS,
            message="RefId and EAN name different VTEX SKUs.",
        )

    channel = factory.SubFactory(SalesChannelFactory)
    vario_article_id = factory.Sequence(lambda n: str(77 + n))
    article_number = factory.Sequence(lambda n: f"SKU-{n:05d}")
    ean = factory.Sequence(lambda n: f"400638{n:07d}")
    vtex_sku_id = factory.Sequence(lambda n: 1000 + n)
    matched_by = MatchedBy.REFID
    status = SkuMappingStatus.MAPPED
    last_checked_at = factory.LazyFunction(timezone.now)


# --- Stock and prices: the catalog flow's work items and timeline (sync.catalog) ------------------------------

from sync.catalog.models import CatalogTimelineEntry, CatalogWork  # noqa: E402


class CatalogWorkFactory(factory.django.DjangoModelFactory):
    """A queued stock item of an article, eligible now. Traits: ``failed``, ``parked``."""

    class Meta:
        model = CatalogWork

    class Params:
        failed = factory.Trait(state=CatalogWork.State.FAILED, reason="INVALID_PRICE", message="grossPrice is 0")
        parked = factory.Trait(state=CatalogWork.State.PARKED, reason="UNMAPPED", message="The SKU is not mapped.")

    channel = factory.SubFactory(SalesChannelFactory)
    topic = CatalogWork.Topic.STOCK
    vario_article_id = factory.Sequence(lambda n: str(77 + n))
    state = CatalogWork.State.QUEUED
    generation = 1
    queued_at = factory.LazyFunction(timezone.now)
    last_event_at = factory.LazyFunction(timezone.now)
    eligible_at = factory.LazyFunction(timezone.now)


class CatalogTimelineEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatalogTimelineEntry

    channel = factory.SubFactory(SalesChannelFactory)
    vario_article_id = factory.Sequence(lambda n: str(77 + n))
    topic = CatalogWork.Topic.STOCK
    kind = CatalogTimelineEntry.Kind.EVENT
    title = "VARIO: sales_channel.stockChange"
