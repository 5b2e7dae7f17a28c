import logging

import pytest
from django.contrib import admin
from django.urls import reverse

from mappings.models import (
    SYNC_TYPES_OFF_BY_DEFAULT,
    CarrierCode,
    CatalogSettings,
    ChannelKind,
    OrderLink,
    SalesChannel,
    StatusMapping,
    SyncType,
    TransferToggle,
)
from tests.factories import (
    CarrierCodeFactory,
    OrderLinkFactory,
    PriceTableMappingFactory,
    SalesChannelFactory,
    SkuMappingFactory,
    StatusMappingFactory,
    WarehouseMappingFactory,
)
from tests.support.admin_forms import admin_post_data

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
    WarehouseMappingFactory(channel=channel)
    PriceTableMappingFactory(channel=channel)
    SkuMappingFactory(channel=channel)
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
    # Toggles and catalog settings come with their channel.
    expected = 403 if model in (TransferToggle, CatalogSettings) else 200
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
    on_by_default = len(SyncType.values) - len(SYNC_TYPES_OFF_BY_DEFAULT)
    assert TransferToggle.objects.filter(channel=populated, enabled=True).count() == on_by_default - 1


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


# --- secrets are write-only in every mode ----------------------------------------------------------------

HOOK_SECRET = "HOOK-SECRET-NEVER-SHOWN-0815"


@pytest.fixture
def user_with(django_user_model, settings):
    """A logged-in staff client holding exactly the given permissions (codenames of the mappings app)."""
    from django.contrib.auth.models import Permission
    from django.test import Client

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    def make(*codenames: str) -> Client:
        user = django_user_model.objects.create_user(f"staff-{len(codenames)}-{'-'.join(codenames)}", is_staff=True)
        user.user_permissions.add(
            *Permission.objects.filter(content_type__app_label="mappings", codename__in=codenames)
        )
        client = Client()
        client.force_login(user)
        return client

    return make


def admin_fields(response) -> dict:
    """The fields the change page shows, by name: read-only lines and inputs alike."""
    from django.contrib.admin.helpers import AdminReadonlyField

    return {
        (field.field["name"] if isinstance(field, AdminReadonlyField) else field.field.name): field
        for fieldset in response.context["adminform"]
        for line in fieldset
        for field in line
    }


def stored_secrets(channel: SalesChannel) -> list[str]:
    """Every secret the channel holds, in plaintext and as stored (each encrypted field of the model)."""
    from portal.admin_secrets import secret_field_names

    values = [getattr(channel, name) for name in secret_field_names(SalesChannel)]
    stored = SalesChannel.objects.filter(pk=channel.pk).values_list(*secret_field_names(SalesChannel)).get()
    return [v for v in (*values, *stored) if v]


@pytest.fixture
def secret_channel(populated):
    populated.vtex_hook_secret = HOOK_SECRET
    populated.save()
    return populated


@pytest.mark.parametrize(
    ("role", "codenames"),
    [("viewer", ("view_saleschannel",)), ("editor", ("view_saleschannel", "change_saleschannel")), ("superuser", None)],
)
@pytest.mark.parametrize("page", ["change", "history", "changelist", "delete"])
def test_no_page_in_any_mode_renders_a_stored_secret(admin_client, user_with, secret_channel, role, codenames, page):
    client = admin_client if codenames is None else user_with(*codenames)
    args = [] if page == "changelist" else [secret_channel.pk]
    response = client.get(reverse(f"admin:mappings_saleschannel_{page}", args=args))

    if page == "delete" and role != "superuser":
        assert response.status_code == 403
        return
    assert response.status_code == 200
    html = response.content.decode()
    secrets = stored_secrets(secret_channel)
    assert TOKEN in secrets and HOOK_SECRET in secrets
    for secret in secrets:
        assert secret not in html
        assert secret[:12] not in html


@pytest.mark.parametrize(
    ("codenames", "editable"),
    [(("view_saleschannel",), False), (("view_saleschannel", "change_saleschannel"), True)],
    ids=["view-only", "change"],
)
def test_the_channel_page_says_only_whether_each_secret_is_set(user_with, secret_channel, codenames, editable):
    secret_channel.vtex_hook_secret = ""
    secret_channel.save()

    response = user_with(*codenames).get(change_url(secret_channel))

    fields = admin_fields(response)
    assert fields["vtex_app_token_state"].contents() == "set"
    assert fields["vtex_hook_secret_state"].contents() == "not set"
    assert ("vtex_app_token" in fields, "clear_vtex_app_token" in fields) == (editable, editable)
    if editable:  # the write-only input, rendered empty
        rendered = str(fields["vtex_app_token"].field)
        assert 'type="password"' in rendered and "value=" not in rendered


def test_the_add_page_has_the_secret_inputs_and_no_state(admin_client):
    response = admin_client.get(reverse("admin:mappings_saleschannel_add"))

    names = set(admin_fields(response))
    assert {"vtex_app_token", "vtex_hook_secret"} <= names
    assert not names & {"vtex_app_token_state", "clear_vtex_app_token"}


# --- actions declare their permission --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codenames", "allowed"),
    [
        (("view_saleschannel", "view_statusmapping"), False),
        (("view_saleschannel", "change_saleschannel"), False),
        (("view_saleschannel", "change_saleschannel", "add_statusmapping"), True),
    ],
    ids=["view-only", "change-without-adding-mappings", "change-and-add-mappings"],
)
def test_loading_default_status_mappings_needs_change_and_the_add_permission_of_mappings(
    user_with, populated, codenames, allowed
):
    before = StatusMapping.objects.filter(channel=populated).count()

    response = user_with(*codenames).post(
        reverse("admin:mappings_saleschannel_changelist"),
        {"action": "load_default_status_mappings", "_selected_action": [populated.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert StatusMapping.objects.filter(channel=populated).count() == (5 if allowed else before)


# --- import and export need the model's permissions -----------------------------------------------------

CARRIER_CSV = (
    "channel,erp_carrier_key,vtex_courier_name,tracking_url_template,accepted_by_marketplace,"
    "integrated_with_vtex_tracking\r\nshop,EVIL,Evil,https://evil.example/{tracking_number},true,false\r\n"
)


def import_carriers(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("carriers.csv", CARRIER_CSV.encode(), content_type="text/csv")
    return client.post(
        reverse("admin:mappings_carriercode_import"), {"resource": "0", "format": "0", "import_file": upload}
    )


@pytest.mark.parametrize(
    "codenames",
    [(), ("view_carriercode",), ("view_carriercode", "change_carriercode"), ("view_carriercode", "add_carriercode")],
    ids=["none", "view", "change-without-add", "add-without-change"],
)
def test_an_import_needs_both_add_and_change_permission(user_with, populated, codenames):
    client = user_with(*codenames)

    assert client.get(reverse("admin:mappings_carriercode_import")).status_code == 403
    assert import_carriers(client).status_code == 403
    assert client.post(reverse("admin:mappings_carriercode_process_import"), {}).status_code == 403
    assert not CarrierCode.objects.filter(erp_carrier_key="EVIL").exists()


def test_a_user_with_add_and_change_permission_imports(user_with, populated):
    client = user_with("view_carriercode", "add_carriercode", "change_carriercode")

    response = import_carriers(client)

    assert response.status_code == 200
    assert response.context["confirm_form"] is not None  # the preview, with its "Confirm import"


def export_post_data(form) -> dict[str, str]:
    """The export form submitted as shown: the first format and resource, every column ticked."""
    from django import forms

    ticked = {name: "on" for name, field in form.fields.items() if isinstance(field, forms.BooleanField)}
    return {"format": "0", "resource": "0", **ticked}


@pytest.mark.parametrize(("codenames", "allowed"), [((), False), (("view_orderlink",), True)], ids=["none", "view"])
def test_an_export_needs_the_view_permission(admin_client, user_with, populated, codenames, allowed):
    url = reverse("admin:mappings_orderlink_export")
    data = export_post_data(admin_client.get(url).context["form"])
    client = user_with(*codenames)

    page = client.get(url)
    download = client.post(url, data)

    expected = 200 if allowed else 403
    assert (page.status_code, download.status_code) == (expected, expected)
    if allowed:
        assert download["Content-Disposition"].startswith("attachment;")


def test_a_view_only_user_sees_export_but_no_import_button(user_with, populated):
    html = user_with("view_carriercode").get(reverse("admin:mappings_carriercode_changelist")).content.decode()

    assert reverse("admin:mappings_carriercode_export") in html
    assert reverse("admin:mappings_carriercode_import") not in html


# --- an order link's ids are fixed after creation -------------------------------------------------------

ORDER_LINK_IDS = ("channel", "vtex_order_id", "marketplace_order_id", "erp_order_id", "erp_order_number")


def test_an_order_links_ids_cannot_be_changed_in_the_admin(admin_client, populated):
    link = OrderLink.objects.get(channel=populated)
    before = {name: getattr(link, name) for name in ORDER_LINK_IDS}
    other = SalesChannelFactory(code="other")
    url = reverse("admin:mappings_orderlink_change", args=[link.pk])
    data = admin_post_data(admin_client.get(url))
    data.update(
        channel=other.pk,
        vtex_order_id="9999999999999-01",
        marketplace_order_id="MKT-9",
        erp_order_id="9999",
        erp_order_number="AU-9999",
        vtex_status="invoiced",
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302
    link.refresh_from_db()
    assert {name: getattr(link, name) for name in ORDER_LINK_IDS} == before
    assert link.vtex_status == "invoiced"  # what is not an id stays editable


def test_an_order_links_ids_are_typed_when_it_is_added(admin_client):
    response = admin_client.get(reverse("admin:mappings_orderlink_add"))

    assert set(ORDER_LINK_IDS) <= set(response.context["adminform"].form.fields)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("https://portal.example.com/webhooks/vtex/shop?", "without &#x27;?&#x27; or &#x27;#&#x27;"),
        ("https://portal.example.com/webhooks/vtex/shop#", "without &#x27;?&#x27; or &#x27;#&#x27;"),
        ("https://portal.example.com/api/vtex", "its path must end in /webhooks/vtex/shop"),
    ],
)
def test_the_channel_form_refuses_a_connector_endpoint_the_secret_could_leave_by(
    admin_client, populated, endpoint, message
):
    data = admin_post_data(admin_client.get(change_url(populated)))
    data.update(kind=ChannelKind.EXTERNAL_MARKETPLACE, connector_name="vario-portal", connector_endpoint=endpoint)

    response = admin_client.post(change_url(populated), data)

    assert response.status_code == 200
    assert "connector_endpoint" in response.context["adminform"].form.errors
    assert message in response.content.decode()
    populated.refresh_from_db()
    assert populated.connector_endpoint == ""


@pytest.mark.django_db
def test_the_channel_form_keeps_the_channels_own_receiver_as_connector_endpoint(admin_client, populated):
    data = admin_post_data(admin_client.get(change_url(populated)))
    endpoint = "https://portal.example.com/webhooks/vtex/shop"
    data.update(kind=ChannelKind.EXTERNAL_MARKETPLACE, connector_name="vario-portal", connector_endpoint=endpoint)

    assert admin_client.post(change_url(populated), data).status_code == 302
    populated.refresh_from_db()
    assert populated.connector_endpoint == endpoint
