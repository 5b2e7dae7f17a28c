from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from mappings.models import (
    CarrierCode,
    ChannelKind,
    ErpFulfilmentState,
    OrderLink,
    SalesChannel,
    StatusMapping,
    SyncType,
    TransferToggle,
)
from tests.factories import CarrierCodeFactory, OrderLinkFactory, SalesChannelFactory, StatusMappingFactory

pytestmark = pytest.mark.django_db


def messages_of(exc_info) -> str:
    return " ".join(str(m) for messages in exc_info.value.message_dict.values() for m in messages)


def test_a_new_channel_gets_one_toggle_per_sync_type_stock_and_price_upload_off():
    channel = SalesChannelFactory()
    toggles = TransferToggle.objects.filter(channel=channel)
    assert sorted(toggles.values_list("sync_type", flat=True)) == sorted(SyncType.values)
    assert {t.sync_type for t in toggles if not t.enabled} == {
        SyncType.UPLOAD_ARTICLE_STOCK,
        SyncType.UPLOAD_ARTICLE_PRICE,
    }


def test_saving_a_channel_again_does_not_duplicate_toggles():
    channel = SalesChannelFactory()
    channel.name = "Renamed"
    channel.save()
    assert TransferToggle.objects.filter(channel=channel).count() == len(SyncType.values)


def test_channel_code_is_unique():
    SalesChannelFactory(code="shop")
    with pytest.raises(IntegrityError), transaction.atomic():
        SalesChannel.objects.create(code="shop", name="Other", vtex_account_name="other")


def test_vtex_base_url_is_derived_from_account_and_environment():
    channel = SalesChannelFactory.build(
        vario_sales_channel_id="8", vtex_account_name="mystore", vtex_environment="vtexcommercestable"
    )
    assert channel.vtex_base_url == "https://mystore.vtexcommercestable.com.br"


def test_vtex_base_url_override_wins_without_trailing_slash():
    channel = SalesChannelFactory.build(vario_sales_channel_id="8", vtex_base_url_override="http://127.0.0.1:8001/")
    assert channel.vtex_base_url == "http://127.0.0.1:8001"


@pytest.mark.parametrize("url", ["https://proxy.example.com", "http://127.0.0.1:8001", "http://localhost:9000"])
def test_base_url_override_accepts_https_and_local_http(url):
    SalesChannelFactory.build(vario_sales_channel_id="8", code="ok", vtex_base_url_override=url).full_clean()


@pytest.mark.parametrize("url", ["http://proxy.example.com", "ftp://127.0.0.1", "proxy.example.com", "https://"])
def test_base_url_override_rejects_remote_plain_http_and_non_urls(url):
    with pytest.raises(ValidationError) as exc_info:
        SalesChannelFactory.build(vario_sales_channel_id="8", code="bad", vtex_base_url_override=url).full_clean()
    assert "https://" in messages_of(exc_info)


def test_external_marketplace_needs_connector_name_and_endpoint():
    channel = SalesChannelFactory.build(vario_sales_channel_id="8", code="mkt", kind=ChannelKind.EXTERNAL_MARKETPLACE)
    with pytest.raises(ValidationError) as exc_info:
        channel.full_clean()
    assert set(exc_info.value.message_dict) >= {"connector_name", "connector_endpoint"}


def test_database_refuses_external_marketplace_without_connector():
    with pytest.raises(IntegrityError), transaction.atomic():
        SalesChannel.objects.create(
            code="mkt", name="Mkt", vtex_account_name="mkt", kind=ChannelKind.EXTERNAL_MARKETPLACE
        )


def test_external_marketplace_with_connector_is_valid():
    SalesChannelFactory.build(
        vario_sales_channel_id="8",
        code="mkt",
        kind=ChannelKind.EXTERNAL_MARKETPLACE,
        connector_name="amazon",
        connector_endpoint="https://portal.example.com/webhooks/vtex/mkt",
    ).full_clean()


@pytest.mark.parametrize("keys", [[], ["CANCELLED", "has space"], "CANCELLED"])
def test_cancelled_state_keys_must_be_a_non_empty_list_of_keys(keys):
    with pytest.raises(ValidationError) as exc_info:
        SalesChannelFactory.build(vario_sales_channel_id="8", code="c", erp_cancelled_state_keys=keys).full_clean()
    assert "erp_cancelled_state_keys" in exc_info.value.message_dict


# reference/vtex.md §1: each appKey owns exactly one feed and one hook; a commit removes the event for all.
def test_a_second_channel_on_the_same_account_and_app_key_is_refused():
    SalesChannelFactory(code="shop", vtex_account_name="demostore", vtex_app_key="vtexappkey-demostore-PORTAL")
    second = SalesChannelFactory.build(
        vario_sales_channel_id="8",
        code="shop-b2b",
        vtex_account_name="demostore",
        vtex_app_key="vtexappkey-demostore-PORTAL",
    )

    with pytest.raises(ValidationError) as exc_info:
        second.full_clean()

    [message] = exc_info.value.message_dict["vtex_app_key"]
    assert "'shop'" in message and "one orders feed" in message and "separate app key" in message


def test_an_inactive_channel_on_the_same_app_key_counts_too():
    SalesChannelFactory(code="old", active=False, vtex_account_name="demostore", vtex_app_key="K")
    with pytest.raises(ValidationError):
        SalesChannelFactory.build(
            vario_sales_channel_id="8", code="new", vtex_account_name="demostore", vtex_app_key="K"
        ).full_clean()


def test_a_channel_does_not_conflict_with_itself_and_other_keys_or_accounts_are_fine():
    channel = SalesChannelFactory(code="shop", vtex_account_name="demostore", vtex_app_key="K")
    channel.name = "Renamed"
    channel.full_clean()
    SalesChannelFactory.build(
        vario_sales_channel_id="8", code="c", vtex_account_name="otherstore", vtex_app_key="K"
    ).full_clean()
    channel.vtex_trade_policies = ["1"]
    channel.save()
    SalesChannelFactory.build(
        vario_sales_channel_id="8",
        code="b",
        vtex_account_name="demostore",
        vtex_app_key="K2",
        vtex_trade_policies=["2"],
    ).full_clean()


# Every app key's feed and hook report every order of the account (reference/vtex.md §1).
@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ([], ["2"], "'shop' reads the same VTEX account 'demostore'"),
        (["1"], [], "this channel has none"),
        (["1", "2"], ["2", "3"], "Trade policies 2 are also imported by sales channel 'shop'"),
    ],
)
def test_channels_sharing_a_vtex_account_need_disjoint_trade_policies(first, second, message):
    SalesChannelFactory(code="shop", vtex_account_name="demostore", vtex_app_key="K1", vtex_trade_policies=first)
    other = SalesChannelFactory.build(
        vario_sales_channel_id="8",
        code="b2b",
        vtex_account_name="demostore",
        vtex_app_key="K2",
        vtex_trade_policies=second,
    )

    with pytest.raises(ValidationError) as exc_info:
        other.full_clean()

    [text] = exc_info.value.message_dict["vtex_trade_policies"]
    assert message in text


def test_trade_policies_are_ids():
    with pytest.raises(ValidationError):
        SalesChannelFactory.build(vario_sales_channel_id="8", vtex_trade_policies=["1", "two words"]).full_clean()


def test_channels_without_an_app_key_do_not_conflict():
    SalesChannelFactory(code="draft-a", vtex_account_name="demostore", vtex_app_key="", vtex_app_token="")
    SalesChannelFactory.build(
        vario_sales_channel_id="8", code="draft-b", vtex_account_name="demostore", vtex_app_key="", vtex_app_token=""
    ).full_clean()


def test_database_refuses_a_second_channel_on_the_same_account_and_app_key():
    # Two saves that both passed clean() before either was committed: only the database can stop the second.
    SalesChannel.objects.create(code="shop", name="Shop", vtex_account_name="demostore", vtex_app_key="K")
    with pytest.raises(IntegrityError), transaction.atomic():
        SalesChannel.objects.create(code="shop-b2b", name="B2B", vtex_account_name="demostore", vtex_app_key="K")


def test_database_lets_channels_without_an_app_key_and_other_accounts_share_a_key():
    SalesChannel.objects.create(code="draft-a", name="A", vtex_account_name="demostore", vtex_app_key="")
    SalesChannel.objects.create(code="draft-b", name="B", vtex_account_name="demostore", vtex_app_key="")
    SalesChannel.objects.create(code="shop", name="Shop", vtex_account_name="demostore", vtex_app_key="K")
    SalesChannel.objects.create(code="other", name="Other", vtex_account_name="otherstore", vtex_app_key="K")
    assert SalesChannel.objects.count() == 4


def test_a_shared_app_key_gives_one_message_naming_the_other_channel_not_two():
    SalesChannelFactory(code="shop", vtex_account_name="demostore", vtex_app_key="K")
    with pytest.raises(ValidationError) as exc_info:
        SalesChannelFactory.build(
            vario_sales_channel_id="8", code="shop-b2b", vtex_account_name="demostore", vtex_app_key="K"
        ).full_clean()
    # clean() has flagged vtex_app_key, so full_clean() leaves the database constraint's copy out.
    assert exc_info.value.message_dict == {"vtex_app_key": [exc_info.value.message_dict["vtex_app_key"][0]]}
    assert "'shop'" in messages_of(exc_info)


def test_vtex_account_name_rejects_a_url():
    with pytest.raises(ValidationError) as exc_info:
        SalesChannelFactory.build(
            vario_sales_channel_id="8", code="c", vtex_account_name="https://mystore.vtex.com"
        ).full_clean()
    assert "vtex_account_name" in exc_info.value.message_dict


def test_app_token_is_encrypted_at_rest_and_decrypted_on_read():
    channel = SalesChannelFactory(vtex_app_token="plain-secret-token")
    with connection.cursor() as cursor:
        cursor.execute("SELECT vtex_app_token FROM mappings_saleschannel WHERE id = %s", [channel.pk])
        stored = cursor.fetchone()[0]
    assert "plain-secret-token" not in stored
    assert stored.startswith("gAAAA")  # Fernet token
    assert SalesChannel.objects.get(pk=channel.pk).vtex_app_token == "plain-secret-token"


def test_app_token_survives_key_rotation(settings):
    from cryptography.fernet import Fernet

    channel = SalesChannelFactory(vtex_app_token="rotate-me")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]
    assert SalesChannel.objects.get(pk=channel.pk).vtex_app_token == "rotate-me"


def test_empty_app_token_stays_empty_and_means_no_credentials():
    channel = SalesChannelFactory(vtex_app_token="")
    reloaded = SalesChannel.objects.get(pk=channel.pk)
    assert reloaded.vtex_app_token == ""
    assert reloaded.has_vtex_credentials is False


def test_str_never_contains_the_app_token():
    channel = SalesChannelFactory(vtex_app_token="secret-in-str")
    assert "secret-in-str" not in str(channel)
    assert "secret-in-str" not in repr(channel)


def test_toggle_is_unique_per_channel_and_sync_type():
    channel = SalesChannelFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        TransferToggle.objects.create(channel=channel, sync_type=SyncType.ORDER_DOWNLOAD)


def test_status_mapping_is_unique_per_channel_and_erp_state():
    mapping = StatusMappingFactory(erp_state=ErpFulfilmentState.CONFIRMED)
    duplicate = StatusMapping(
        channel=mapping.channel, erp_state=ErpFulfilmentState.CONFIRMED, platform_status="processing"
    )
    with pytest.raises(ValidationError) as exc_info:
        duplicate.full_clean()
    assert "already maps this ERP fulfilment state" in str(exc_info.value)


def test_same_erp_state_may_be_mapped_on_two_channels():
    StatusMappingFactory(channel=SalesChannelFactory(code="a"), erp_state=ErpFulfilmentState.CONFIRMED)
    StatusMappingFactory(channel=SalesChannelFactory(code="b"), erp_state=ErpFulfilmentState.CONFIRMED)
    assert StatusMapping.objects.count() == 2


def test_carrier_key_is_unique_per_channel():
    carrier = CarrierCodeFactory(erp_carrier_key="DHL")
    with pytest.raises(IntegrityError), transaction.atomic():
        CarrierCode.objects.create(
            channel=carrier.channel,
            erp_carrier_key="DHL",
            vtex_courier_name="x",
            tracking_url_template="https://x.example/{tracking_number}",
        )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("https://track.example.com/t/", "must contain the {tracking_number} placeholder"),
        ("http://track.example.com/{tracking_number}", "absolute https:// URL"),
        ("/track/{tracking_number}", "absolute https:// URL"),
        ("https://t.example.com/{tracking_number}?lang={lang}", "Only the {tracking_number} placeholder"),
    ],
)
def test_tracking_url_template_validation_says_what_is_wrong(template, message):
    carrier = CarrierCodeFactory.build(channel=SalesChannelFactory(), tracking_url_template=template)
    with pytest.raises(ValidationError) as exc_info:
        carrier.full_clean()
    assert message in messages_of(exc_info)


def test_carrier_key_rejects_spaces():
    carrier = CarrierCodeFactory.build(channel=SalesChannelFactory(), erp_carrier_key="DHL EXPRESS")
    with pytest.raises(ValidationError) as exc_info:
        carrier.full_clean()
    assert "erp_carrier_key" in exc_info.value.message_dict


def test_tracking_url_escapes_the_tracking_number():
    carrier = CarrierCodeFactory.build(tracking_url_template="https://t.example.com/?id={tracking_number}")
    assert carrier.tracking_url("1Z 99/&x") == "https://t.example.com/?id=1Z%2099%2F%26x"


def test_order_link_is_unique_per_channel_on_the_vtex_side():
    link = OrderLinkFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLinkFactory(channel=link.channel, vtex_order_id=link.vtex_order_id)


def test_order_link_is_unique_per_channel_on_the_erp_side():
    link = OrderLinkFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderLinkFactory(channel=link.channel, erp_order_id=link.erp_order_id)


def test_several_links_may_wait_for_their_erp_order():
    channel = SalesChannelFactory()
    OrderLinkFactory(channel=channel, erp_order_id="")
    OrderLinkFactory(channel=channel, erp_order_id="")
    assert OrderLink.objects.filter(channel=channel, erp_order_id="").count() == 2


def test_same_vtex_order_id_may_exist_on_two_channels():
    OrderLinkFactory(channel=SalesChannelFactory(code="a"), vtex_order_id="1-01")
    OrderLinkFactory(channel=SalesChannelFactory(code="b"), vtex_order_id="1-01")
    assert OrderLink.objects.filter(vtex_order_id="1-01").count() == 2


def test_a_channel_with_order_links_cannot_be_deleted():
    from django.db.models import ProtectedError

    link = OrderLinkFactory()
    with pytest.raises(ProtectedError):
        link.channel.delete()


def marketplace_channel(endpoint: str) -> SalesChannel:
    return SalesChannelFactory(
        code="mkp", kind="external_marketplace", connector_name="vario-portal", connector_endpoint=endpoint
    )


@pytest.mark.django_db
def test_a_connector_endpoint_with_a_query_string_is_refused():
    channel = marketplace_channel("https://portal.example.com/webhooks/vtex/mkp")
    channel.full_clean()  # a base URL is fine

    channel.connector_endpoint = "https://portal.example.com/webhooks/vtex/mkp?an=shop"
    with pytest.raises(ValidationError) as exc_info:
        channel.full_clean()
    assert "without '?' or '#'" in messages_of(exc_info)


# urlsplit reads a bare '?' or '#' as an empty query or fragment: the secret appended after it would
# travel as a query string (reference/vtex.md §7 forbids one) or never leave the client as a fragment.
@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint",
    [
        "https://portal.example.com/webhooks/vtex/mkp?",
        "https://portal.example.com/webhooks/vtex/mkp#",
        "https://portal.example.com/webhooks/vtex/mkp/?",
        "https://portal.example.com/?/webhooks/vtex/mkp",
        "https://portal.example.com/webhooks/vtex/mkp#/webhooks/vtex/mkp",
    ],
)
def test_a_connector_endpoint_with_a_bare_question_mark_or_hash_is_refused(endpoint):
    channel = marketplace_channel(endpoint)

    with pytest.raises(ValidationError) as exc_info:
        channel.full_clean()

    assert "connector_endpoint" in exc_info.value.message_dict
    assert "without '?' or '#'" in messages_of(exc_info)
    with pytest.raises(ValueError, match="without '\\?' or '#'"):
        channel.connector_notification_endpoint  # noqa: B018 - a row written around the form sends nothing


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint",
    [
        "https://portal.example.com",
        "https://portal.example.com/api/vtex",
        "https://portal.example.com/webhooks/vtex/other",  # another channel's receiver
        "https://portal.example.com/webhooks/vtex/mkp/orders",  # the hook's path
        "https://portal.example.com/webhooks/vtex/xmkp",
    ],
)
def test_a_connector_endpoint_that_is_not_the_channels_receiver_is_refused(endpoint):
    channel = marketplace_channel(endpoint)

    with pytest.raises(ValidationError) as exc_info:
        channel.full_clean()

    assert "its path must end in /webhooks/vtex/mkp" in " ".join(exc_info.value.message_dict["connector_endpoint"])
    with pytest.raises(ValueError, match="must end in /webhooks/vtex/mkp"):
        channel.connector_notification_endpoint  # noqa: B018


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "sent"),
    [
        ("https://portal.example.com/webhooks/vtex/mkp", "https://portal.example.com/webhooks/vtex/mkp/{secret}"),
        ("https://portal.example.com/webhooks/vtex/mkp/", "https://portal.example.com/webhooks/vtex/mkp/{secret}"),
        # behind a proxy that mounts the portal under a prefix
        (
            "https://example.com:8443/portal/webhooks/vtex/mkp",
            "https://example.com:8443/portal/webhooks/vtex/mkp/{secret}",
        ),
        ("http://127.0.0.1:8000/webhooks/vtex/mkp", "http://127.0.0.1:8000/webhooks/vtex/mkp/{secret}"),
    ],
)
def test_the_channels_receiver_carries_the_secret_as_its_last_path_segment(endpoint, sent):
    channel = marketplace_channel(endpoint)

    channel.full_clean()

    assert channel.connector_notification_endpoint == sent.format(secret=channel.connector_secret)


@pytest.mark.django_db
@pytest.mark.parametrize(("status", "valid"), [("", True), ("approved", True), ("new", False), ("invoiced", False)])
def test_the_marketplace_status_is_what_the_channel_order_api_takes(status, valid):
    mapping = StatusMappingFactory(marketplace_status="")
    mapping.marketplace_status = status
    if valid:
        mapping.full_clean()
    else:
        with pytest.raises(ValidationError):
            mapping.full_clean()


def test_two_channels_cannot_share_a_vario_sales_channel():
    SalesChannelFactory(code="shop", vario_sales_channel_id="7")
    with pytest.raises(ValidationError) as exc_info:
        SalesChannelFactory.build(code="b2b", vario_sales_channel_id="7").full_clean()
    [text] = exc_info.value.message_dict["vario_sales_channel_id"]
    assert "'shop' is already linked to VARIO sales channel 7" in text


def test_only_one_channel_may_leave_the_vario_sales_channel_empty():
    SalesChannelFactory(code="shop", vario_sales_channel_id="")
    with pytest.raises(ValidationError) as exc_info:
        SalesChannelFactory.build(code="b2b", vario_sales_channel_id="").full_clean()
    [text] = exc_info.value.message_dict["vario_sales_channel_id"]
    assert "'shop' already has no VARIO sales channel id" in text


@pytest.mark.django_db
def test_the_connector_secret_matches_its_current_and_until_its_valid_until_its_previous_value():
    channel = marketplace_channel("https://portal.example.com/webhooks/vtex/mkp")
    channel.connector_secret_previous = "PREVIOUS-" + "x" * 34
    channel.connector_secret_previous_valid_until = timezone.now() + timedelta(seconds=60)

    assert channel.connector_secret_matches(channel.connector_secret)
    assert channel.connector_secret_matches(channel.connector_secret_previous)
    assert not channel.connector_secret_matches(channel.connector_secret[:-1])
    assert not channel.connector_secret_matches("")

    channel.connector_secret_previous_valid_until = timezone.now() - timedelta(seconds=1)
    assert not channel.connector_secret_matches(channel.connector_secret_previous)
    assert channel.connector_secret_matches(channel.connector_secret)
