import logging

import pytest
from django.contrib import admin
from django.urls import reverse

from mappings.models import (
    CarrierCode,
    ChannelKind,
    OrderLink,
    SalesChannel,
    StatusMapping,
    SyncType,
    TransferToggle,
)
from tests.admin_forms import admin_post_data
from tests.factories import CarrierCodeFactory, OrderLinkFactory, SalesChannelFactory, StatusMappingFactory

pytestmark = pytest.mark.django_db

TOKEN = "SUPER-SECRET-APP-TOKEN-4711"


@pytest.fixture
def populated():
    from django.contrib.auth.models import Group

    Group.objects.create(name="Integration managers")
    channel = SalesChannelFactory(code="shop", vtex_app_token=TOKEN)
    StatusMappingFactory(channel=channel)
    CarrierCodeFactory(channel=channel)
    OrderLinkFactory(channel=channel)
    return channel


def registered_models():
    return [model for model in admin.site._registry if model._meta.app_label in {"mappings", "auth"}]


def object_of(model):
    return model._default_manager.first()


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_changelist_renders_for_a_superuser(admin_client, populated, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = admin_client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_add_page_renders_or_is_forbidden_by_design(admin_client, populated, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    response = admin_client.get(url)
    expected = 403 if model is TransferToggle else 200  # toggles come with their channel
    assert response.status_code == expected


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_change_page_renders_for_a_superuser(admin_client, populated, model):
    obj = object_of(model)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    response = admin_client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_anonymous_user_is_sent_to_the_login_page(client, populated, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("name", ["changelist", "add", "change", "history", "delete"])
def test_app_token_never_appears_in_channel_pages(admin_client, populated, name):
    args = [] if name in {"changelist", "add"} else [populated.pk]
    response = admin_client.get(reverse(f"admin:mappings_saleschannel_{name}", args=args))
    assert response.status_code == 200
    html = response.content.decode()
    assert TOKEN not in html
    assert SalesChannel._meta.get_field("vtex_app_token").get_prep_value(TOKEN)[:10] not in html


def change_url(channel):
    return reverse("admin:mappings_saleschannel_change", args=[channel.pk])


def test_saving_the_channel_without_a_new_token_keeps_the_stored_one(admin_client, populated):
    page = admin_client.get(change_url(populated))
    data = admin_post_data(page)
    assert data["vtex_app_token"] == ""
    data["name"] = "Renamed shop"

    response = admin_client.post(change_url(populated), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    populated.refresh_from_db()
    assert populated.name == "Renamed shop"
    assert populated.vtex_app_token == TOKEN


def test_a_new_token_replaces_the_stored_one(admin_client, populated):
    data = admin_post_data(admin_client.get(change_url(populated)))
    data["vtex_app_token"] = "NEW-TOKEN"
    assert admin_client.post(change_url(populated), data).status_code == 302
    populated.refresh_from_db()
    assert populated.vtex_app_token == "NEW-TOKEN"


def test_the_token_can_be_removed(admin_client, populated):
    data = admin_post_data(admin_client.get(change_url(populated)))
    data["clear_vtex_app_token"] = "on"
    assert admin_client.post(change_url(populated), data).status_code == 302
    populated.refresh_from_db()
    assert populated.vtex_app_token == ""


def test_a_rejected_form_does_not_echo_the_new_token(admin_client, populated):
    data = admin_post_data(admin_client.get(change_url(populated)))
    data["vtex_app_token"] = "TYPED-BUT-INVALID-FORM-TOKEN"
    data["vtex_base_url_override"] = "http://proxy.example.com"
    response = admin_client.post(change_url(populated), data)
    assert response.status_code == 200
    assert "TYPED-BUT-INVALID-FORM-TOKEN" not in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [("vtex_app_token", "PASTED-ACROSS\nTWO-LINES"), ("vtex_hook_secret", "WITH SPACE"), ("vtex_app_key", "KEY\tTAB")],
)
def test_a_credential_no_http_header_can_carry_is_refused_without_echoing_it(admin_client, populated, field, value):
    data = admin_post_data(admin_client.get(change_url(populated)))
    data[field] = value
    response = admin_client.post(change_url(populated), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "a line break or another character a credential cannot have" in page
    if field != "vtex_app_key":  # the key is an identifier, shown in the form; secrets never are
        assert value.split()[0] not in page
    populated.refresh_from_db()
    assert populated.vtex_app_token == TOKEN


def test_the_token_never_reaches_the_logs(admin_client, populated, caplog):
    caplog.set_level(logging.DEBUG)
    data = admin_post_data(admin_client.get(change_url(populated)))
    data["vtex_app_token"] = "LOGGED-TOKEN-CHECK"
    admin_client.post(change_url(populated), data)
    admin_client.get(change_url(populated))
    assert "LOGGED-TOKEN-CHECK" not in caplog.text
    assert TOKEN not in caplog.text


def test_validation_messages_name_the_problem(admin_client, populated):
    data = admin_post_data(admin_client.get(change_url(populated)))
    data["kind"] = ChannelKind.EXTERNAL_MARKETPLACE
    response = admin_client.post(change_url(populated), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "An external marketplace connector needs its connector name." in html
    assert "An external marketplace connector needs its endpoint URL." in html


def test_cancelled_state_keys_are_edited_as_a_comma_separated_list(admin_client, populated):
    data = admin_post_data(admin_client.get(change_url(populated)))
    assert data["erp_cancelled_state_keys"] == "CANCELLED"
    data["erp_cancelled_state_keys"] = "CANCELLED, STORNIERT"
    assert admin_client.post(change_url(populated), data).status_code == 302
    populated.refresh_from_db()
    assert populated.erp_cancelled_state_keys == ["CANCELLED", "STORNIERT"]


def test_toggles_are_edited_inline_on_the_channel(admin_client, populated):
    page = admin_client.get(change_url(populated))
    data = admin_post_data(page)
    formset = next(f.formset for f in page.context["inline_admin_formsets"] if f.formset.model is TransferToggle)
    target = next(form for form in formset.forms if form.instance.sync_type == SyncType.TRACKING_UPLOAD)
    data.pop(f"{target.prefix}-enabled", None)

    assert admin_client.post(change_url(populated), data).status_code == 302

    assert TransferToggle.objects.get(channel=populated, sync_type=SyncType.TRACKING_UPLOAD).enabled is False
    assert TransferToggle.objects.filter(channel=populated, enabled=True).count() == len(SyncType.values) - 1


def test_adding_a_channel_in_the_admin_creates_its_toggles(admin_client):
    page = admin_client.get(reverse("admin:mappings_saleschannel_add"))
    data = admin_post_data(page)
    data.update(
        {
            "code": "new-shop",
            "name": "New shop",
            "vtex_account_name": "newshop",
            "vtex_app_key": "vtexappkey-newshop-X",
            "vtex_app_token": "fresh-token",
        }
    )

    response = admin_client.post(reverse("admin:mappings_saleschannel_add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    channel = SalesChannel.objects.get(code="new-shop")
    assert channel.vtex_app_token == "fresh-token"
    assert channel.transfer_toggles.count() == len(SyncType.values)


def test_a_second_channel_on_the_same_app_key_is_refused_in_the_admin(admin_client):
    # Not the `populated` fixture: its CarrierCodeFactory would move the carrier-key iterator other tests expect.
    SalesChannelFactory(code="shop", vtex_account_name="demostore", vtex_app_key="vtexappkey-demostore-PORTAL")
    page = admin_client.get(reverse("admin:mappings_saleschannel_add"))
    data = admin_post_data(page)
    data.update(
        {
            "code": "shop-two",
            "name": "Same key",
            "vtex_account_name": "demostore",
            "vtex_app_key": "vtexappkey-demostore-PORTAL",
            "vtex_app_token": "another-token",
        }
    )

    response = admin_client.post(reverse("admin:mappings_saleschannel_add"), data)

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == ["vtex_app_key"] and len(form.errors["vtex_app_key"]) == 1
    assert "'shop' already uses this app key" in form.errors["vtex_app_key"][0]
    assert response.content.decode().count("exactly one orders feed and one hook") == 1
    assert not SalesChannel.objects.filter(code="shop-two").exists()


def test_load_default_status_mappings_action(admin_client, populated):
    response = admin_client.post(
        reverse("admin:mappings_saleschannel_changelist"),
        {"action": "load_default_status_mappings", "_selected_action": [populated.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "default status mappings added" in response.content.decode()
    assert StatusMapping.objects.filter(channel=populated).count() == 5


def test_carrier_admin_explains_a_bad_tracking_template(admin_client, populated):
    response = admin_client.post(
        reverse("admin:mappings_carriercode_add"),
        {
            "channel": populated.pk,
            # Not a key CarrierCodeFactory cycles through: the fixture's carriers depend on test order.
            "erp_carrier_key": "HERMES",
            "vtex_courier_name": "Hermes",
            "tracking_url_template": "http://hermes.example/track",
            "accepted_by_marketplace": "on",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "must contain the {tracking_number} placeholder" in html
    assert "absolute https:// URL" in html
    assert not CarrierCode.objects.filter(erp_carrier_key="HERMES").exists()


def test_order_links_are_searchable_by_either_side(admin_client, populated):
    link = OrderLink.objects.get(channel=populated)
    url = reverse("admin:mappings_orderlink_changelist")
    for term in (link.vtex_order_id, link.erp_order_number):
        response = admin_client.get(url, {"q": term})
        assert link.vtex_order_id in response.content.decode()


def test_the_hook_url_is_shown_and_edited_on_the_channel(admin_client, populated):
    url = "https://portal.example.com/webhooks/vtex/shop/orders"
    data = admin_post_data(admin_client.get(change_url(populated)))
    data["vtex_hook_url"] = url

    assert admin_client.post(change_url(populated), data).status_code == 302
    populated.refresh_from_db()
    assert populated.vtex_hook_url == url
    assert url in admin_client.get(change_url(populated)).content.decode()


def test_a_plain_http_hook_url_is_refused_unless_it_is_local(admin_client, populated):
    data = admin_post_data(admin_client.get(change_url(populated)))
    data["vtex_hook_url"] = "http://portal.example.com/webhooks/vtex/shop/orders"

    response = admin_client.post(change_url(populated), data)

    assert response.status_code == 200
    assert "vtex_hook_url" in response.context["adminform"].form.errors


@pytest.mark.django_db
def test_a_channel_without_orders_can_be_deleted_with_its_toggles_and_mappings(admin_client):
    channel = SalesChannelFactory(code="gone")
    StatusMappingFactory(channel=channel)
    url = reverse("admin:mappings_saleschannel_delete", args=[channel.pk])

    page = admin_client.get(url)
    assert page.status_code == 200 and b"permission" not in page.content

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not SalesChannel.objects.filter(code="gone").exists()
    assert not TransferToggle.objects.filter(channel_id=channel.pk).exists()
