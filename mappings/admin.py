from __future__ import annotations

import csv
import json
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpResponseNotAllowed, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, JSON, XLSX

from mappings import services
from mappings.forms import (
    CommaSeparatedListField,
    PriceTableMappingForm,
    SkuMappingForm,
    WarehouseMappingForm,
    header_value_validator,
)
from mappings.models import (
    CarrierCode,
    CatalogSettings,
    OrderLink,
    PriceTableMapping,
    SalesChannel,
    SkuMapping,
    SkuMappingStatus,
    StatusMapping,
    TransferToggle,
    WarehouseMapping,
    default_cancelled_state_keys,
)
from mappings.resources import (
    CarrierCodeResource,
    CatalogSettingsResource,
    OrderLinkResource,
    PriceTableMappingResource,
    SkuMappingResource,
    StatusMappingResource,
    WarehouseMappingResource,
)
from portal.admin_secrets import WriteOnlySecretsMixin


class ImportExportAdmin(ImportExportModelAdmin):
    formats = [CSV, XLSX, JSON]

    def has_import_permission(self, request) -> bool:
        # An import adds rows and changes existing ones: it needs both permissions. The library checks one
        # permission (IMPORT_EXPORT_IMPORT_PERMISSION_CODE, "change"); export checks "view" on its own.
        return (
            super().has_import_permission(request)
            and self.has_add_permission(request)
            and self.has_change_permission(request)
        )


class SalesChannelForm(forms.ModelForm):
    # Write-only: the widget never renders the stored token, and an empty submission keeps it.
    vtex_app_token = forms.CharField(
        label="VTEX app token",
        required=False,
        strip=True,
        validators=[header_value_validator],
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the current token.",
    )
    clear_vtex_app_token = forms.BooleanField(label="Remove the stored app token", required=False, initial=False)
    vtex_hook_secret = forms.CharField(
        label="VTEX hook secret",
        required=False,
        strip=True,
        validators=[header_value_validator],
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the current secret.",
    )
    clear_vtex_hook_secret = forms.BooleanField(label="Remove the stored hook secret", required=False, initial=False)
    # Declared for assume_scheme: a URL typed without scheme means https (VTEX accepts nothing else).
    vtex_hook_url = forms.URLField(
        label="VTEX hook URL",
        required=False,
        max_length=300,
        assume_scheme="https",
        help_text=SalesChannel._meta.get_field("vtex_hook_url").help_text,
    )
    vtex_trade_policies = CommaSeparatedListField(
        label="VTEX trade policies",
        required=False,
        help_text=SalesChannel._meta.get_field("vtex_trade_policies").help_text + " Separate ids by commas.",
    )
    erp_cancelled_state_keys = CommaSeparatedListField(
        label="ERP 'cancelled' state keys",
        initial=default_cancelled_state_keys,
        help_text="VARIO document state keys that mean 'cancelled', separated by commas (e.g. CANCELLED).",
    )

    class Meta:
        model = SalesChannel
        fields = (
            "code",
            "name",
            "active",
            "kind",
            "vtex_account_name",
            "vtex_environment",
            "vtex_base_url_override",
            "vtex_app_key",
            "vtex_app_token",
            "vtex_rate_limits",
            "vtex_trade_policies",
            "connector_name",
            "connector_endpoint",
            "vario_sales_channel_id",
            "erp_cancelled_state_keys",
            "shipping_confirmation_deadline_hours",
            "vario_order_type_id",
            "vario_account_id",
            "vario_delivery_method_id",
            "vario_payment_method_id",
            "vtex_hook_secret",
            "vtex_hook_url",
        )

    def clean_vtex_rate_limits(self) -> dict:
        # An emptied field means "no per-route budgets", not null.
        return self.cleaned_data.get("vtex_rate_limits") or {}

    def clean_vtex_app_key(self) -> str:
        key = self.cleaned_data.get("vtex_app_key", "")
        header_value_validator(key)
        return key

    def clean_vtex_app_token(self) -> str:
        new_token = self.cleaned_data.get("vtex_app_token", "")
        if new_token:
            return new_token
        return self.instance.vtex_app_token if self.instance.pk else ""

    def clean_vtex_hook_secret(self) -> str:
        new_secret = self.cleaned_data.get("vtex_hook_secret", "")
        if new_secret:
            return new_secret
        return self.instance.vtex_hook_secret if self.instance.pk else ""

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("clear_vtex_app_token"):
            cleaned["vtex_app_token"] = ""
        if cleaned.get("clear_vtex_hook_secret"):
            cleaned["vtex_hook_secret"] = ""
        return cleaned


class TransferToggleInline(admin.TabularInline):
    model = TransferToggle
    fields = ("sync_type", "enabled")
    readonly_fields = ("sync_type",)
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        # One toggle per sync type is created with the channel.
        return False


class StatusMappingInline(admin.TabularInline):
    model = StatusMapping
    fields = ("erp_state", "platform_status", "marketplace_status")
    extra = 0


class CarrierCodeInline(admin.TabularInline):
    model = CarrierCode
    fields = (
        "erp_carrier_key",
        "vtex_courier_name",
        "tracking_url_template",
        "accepted_by_marketplace",
        "integrated_with_vtex_tracking",
    )
    extra = 0


CATALOG_SETTINGS_FIELDSETS = (
    (
        "Stock",
        {
            "fields": (
                "stock_field",
                "unlimited_when_sellable_without_stock",
                "safety_stock",
                "lead_time",
                "stock_debounce_seconds",
            )
        },
    ),
    (
        "Prices",
        {
            "fields": (
                "price_mode",
                "base_price_group_id",
                "list_price_source",
                "list_price_group_id",
                "list_price_country",
                "currency",
                "price_debounce_seconds",
            )
        },
    ),
)


class CatalogSettingsInline(admin.StackedInline):
    """The channel's catalog settings on its page (created with the channel: never added, never deleted)."""

    model = CatalogSettings
    fieldsets = CATALOG_SETTINGS_FIELDSETS
    extra = 0
    max_num = 1
    can_delete = False
    verbose_name_plural = "catalog settings (stock and price upload)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SalesChannel)
class SalesChannelAdmin(WriteOnlySecretsMixin, admin.ModelAdmin):
    form = SalesChannelForm
    # The stock page plus "Start a bulk run…" among its object tools (the bulk runs' start page, sync.bulk).
    change_form_template = "admin/bulk/saleschannel_change_form.html"

    # A crash while saving must not print the typed secrets on the DEBUG error page.
    @method_decorator(sensitive_post_parameters("vtex_app_token", "vtex_hook_secret"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    list_display = (
        "code",
        "name",
        "active",
        "kind",
        "vtex_account_name",
        "vario_sales_channel_id",
        "credentials_set",
        "updated_at",
    )
    list_filter = ("active", "kind", "vtex_environment")
    search_fields = ("code", "name", "vtex_account_name", "vario_sales_channel_id", "connector_name")
    prepopulated_fields = {"code": ("name",)}
    inlines = (TransferToggleInline, CatalogSettingsInline, StatusMappingInline, CarrierCodeInline)
    actions = ("load_default_status_mappings",)
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("code", "name", "active", "kind")}),
        (
            "VTEX",
            {
                "fields": (
                    "vtex_account_name",
                    "vtex_environment",
                    "vtex_base_url_override",
                    "vtex_app_key",
                    "vtex_app_token",
                    "clear_vtex_app_token",
                    "vtex_rate_limits",
                    "vtex_trade_policies",
                )
            },
        ),
        ("External marketplace connector", {"fields": ("connector_name", "connector_endpoint")}),
        (
            "VARIO ERP",
            {
                "fields": (
                    "vario_sales_channel_id",
                    "erp_cancelled_state_keys",
                    "shipping_confirmation_deadline_hours",
                )
            },
        ),
        (
            "Order import (VTEX → ERP)",
            {
                "fields": (
                    "vario_order_type_id",
                    "vario_account_id",
                    "vario_delivery_method_id",
                    "vario_payment_method_id",
                    "vtex_hook_secret",
                    "clear_vtex_hook_secret",
                    "vtex_hook_url",
                )
            },
        ),
        ("History", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Toggles cannot be deleted one by one (a missing toggle would silently mean "off"), but they
        # go with their channel: their admin's "no delete" must not block deleting the channel.
        perms_needed.discard(TransferToggle._meta.verbose_name)
        perms_needed.discard(CatalogSettings._meta.verbose_name)  # the same: one row per channel, with it
        return deleted, counts, perms_needed, protected

    @admin.display(boolean=True, description="credentials")
    def credentials_set(self, obj: SalesChannel) -> bool:
        return obj.has_vtex_credentials

    def has_load_status_mappings_permission(self, request) -> bool:
        # The action adds status mappings to the channels' configuration.
        return self.has_change_permission(request) and request.user.has_perm("mappings.add_statusmapping")

    @admin.action(
        description="Load default status mappings (keeps existing ones)", permissions=["load_status_mappings"]
    )
    def load_default_status_mappings(self, request, queryset) -> None:
        for channel in queryset:
            created = services.status_mappings_load_defaults(channel=channel)
            self.message_user(
                request,
                ngettext(
                    "%(channel)s: %(count)d default status mapping added.",
                    "%(channel)s: %(count)d default status mappings added.",
                    created,
                )
                % {"channel": channel.code, "count": created},
                messages.SUCCESS if created else messages.INFO,
            )


@admin.register(TransferToggle)
class TransferToggleAdmin(admin.ModelAdmin):
    list_display = ("channel", "sync_type", "enabled", "updated_at")
    list_editable = ("enabled",)
    list_filter = ("enabled", "sync_type", "channel")
    search_fields = ("channel__code", "channel__name")
    list_select_related = ("channel",)
    readonly_fields = ("channel", "sync_type")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StatusMapping)
class StatusMappingAdmin(ImportExportAdmin):
    resource_classes = [StatusMappingResource]
    list_display = ("channel", "erp_state", "platform_status", "marketplace_status", "updated_at")
    list_filter = ("channel", "erp_state", "platform_status")
    search_fields = ("channel__code", "marketplace_status")
    list_select_related = ("channel",)


@admin.register(CarrierCode)
class CarrierCodeAdmin(ImportExportAdmin):
    resource_classes = [CarrierCodeResource]
    list_display = (
        "channel",
        "erp_carrier_key",
        "vtex_courier_name",
        "accepted_by_marketplace",
        "integrated_with_vtex_tracking",
    )
    list_filter = ("channel", "accepted_by_marketplace", "integrated_with_vtex_tracking")
    search_fields = ("erp_carrier_key", "vtex_courier_name", "channel__code")
    list_select_related = ("channel",)


@admin.register(OrderLink)
class OrderLinkAdmin(ImportExportAdmin):
    resource_classes = [OrderLinkResource]
    list_display = (
        "vtex_order_id",
        "channel",
        "marketplace_order_id",
        "erp_order_number",
        "vtex_status",
        "erp_state",
        "updated_at",
    )
    list_filter = ("channel", "vtex_status", "erp_state")
    search_fields = ("vtex_order_id", "marketplace_order_id", "erp_order_id", "erp_order_number")
    list_select_related = ("channel",)
    readonly_fields = ("created_at", "updated_at", "vtex_status_at", "erp_state_at")
    # Both sides' ids are what the sync finds the order by: typed once when a link is added by hand, then
    # only the sync writes them (a changed id would sync another order's state onto this one).
    ids_fixed_after_creation = ("channel", "vtex_order_id", "marketplace_order_id", "erp_order_id", "erp_order_number")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        fixed = self.ids_fixed_after_creation if obj is not None else ()
        return (*fixed, *super().get_readonly_fields(request, obj))


# --- Stock and prices (reference/catalog-sync.md §3.1, §3.2) --------------------------------------------------


@admin.register(CatalogSettings)
class CatalogSettingsAdmin(ImportExportAdmin):
    resource_classes = [CatalogSettingsResource]
    list_display = (
        "channel",
        "stock_field",
        "safety_stock",
        "lead_time",
        "price_mode",
        "base_price_group_id",
        "list_price_source",
        "currency",
        "updated_at",
    )
    list_filter = ("stock_field", "price_mode", "list_price_source")
    search_fields = ("channel__code", "channel__name")
    list_select_related = ("channel",)
    readonly_fields = ("channel", "created_at", "updated_at")
    fieldsets = ((None, {"fields": ("channel",)}), *CATALOG_SETTINGS_FIELDSETS)

    def has_add_permission(self, request) -> bool:
        return False  # every channel has its row from its creation

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a channel without settings would send with the defaults: they go with the channel

    def has_import_permission(self, request) -> bool:
        # As for the other mappings, add and change; has_add_permission above refuses the add page only.
        user = request.user
        return (
            ImportExportModelAdmin.has_import_permission(self, request)
            and user.has_perm("mappings.add_catalogsettings")
            and user.has_perm("mappings.change_catalogsettings")
        )


class FixedChannelAdmin(ImportExportAdmin):
    """A row's channel (and ``fixed_after_creation``) is chosen when it is added, then fixed: moving a map row
    to another channel is deleting it there and adding it here, each checked.

    Fixed fields are *disabled* form fields, not read-only ones: a model's unique constraints are validated
    only over fields the form has, so with the channel left out, a change colliding with another row of the
    channel would reach the database as an IntegrityError instead of a message on the form."""

    list_select_related = ("channel",)
    fixed_after_creation: tuple[str, ...] = ("channel",)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            for name in self.fixed_after_creation:
                if name in form.base_fields:  # a class made for this request (modelform_factory)
                    form.base_fields[name].disabled = True
        return form


@admin.register(WarehouseMapping)
class WarehouseMappingAdmin(FixedChannelAdmin):
    form = WarehouseMappingForm
    resource_classes = [WarehouseMappingResource]
    list_display = ("channel", "vario_storage_id", "vtex_warehouse_id", "updated_at")
    list_filter = ("channel",)
    search_fields = ("vario_storage_id", "vtex_warehouse_id", "channel__code")


@admin.register(PriceTableMapping)
class PriceTableMappingAdmin(FixedChannelAdmin):
    form = PriceTableMappingForm
    resource_classes = [PriceTableMappingResource]
    list_display = ("channel", "vtex_price_table", "vario_price_group_id", "price_mode", "updated_at")
    list_filter = ("channel", "price_mode")
    search_fields = ("vtex_price_table", "vario_price_group_id", "channel__code")


UNMATCHED_STATUSES = (SkuMappingStatus.UNMAPPED, SkuMappingStatus.AMBIGUOUS)
UNMATCHED_PAGE_SIZE = 100
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A cell a spreadsheet shows as text: a value starting like a formula (an article number '=1+1') is
    prefixed with a quote, so opening the report runs nothing."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(CSV_FORMULA_STARTS) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


@admin.register(SkuMapping)
class SkuMappingAdmin(FixedChannelAdmin):
    """SKU mappings: the state matching left, what was last sent and when. A person may set an article's
    SKU by hand (it is then ``manual`` and matching leaves it alone); the state fields are read-only.
    "Match now" needs VTEX's Catalog and is the catalog flow's (sync/catalog subclasses this admin, as
    sync.admin does for order links); the unmatched report is here."""

    form = SkuMappingForm
    resource_classes = [SkuMappingResource]
    # The import and export buttons' template, plus the report's link (shown to viewers too: the library's own
    # template shows object tools only to who may add).
    import_export_change_list_template = "admin/mappings/skumapping/change_list.html"
    list_display = (
        "vario_article_id",
        "article_number",
        "ean",
        "channel",
        "vtex_sku_id",
        "status",
        "matched_by",
        "stock_sent",
        "last_stock_at",
        "price_sent",
        "last_price_at",
    )
    list_filter = ("channel", "status", "matched_by")
    # Ids exactly; ``vtex_sku_id__exact`` is compared as text by the admin (Django casts it), so words typed
    # into the search box never reach the database as a number.
    search_fields = ("article_number", "ean", "vario_article_id__exact", "vtex_sku_id__exact")
    state_fields = (
        "status",
        "matched_by",
        "last_checked_at",
        "message",
        "last_stock_sent_shown",
        "last_stock_at",
        "last_price_sent_shown",
        "last_price_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = state_fields
    # The article's side is VARIO's and matching refreshes it: typed when a mapping is added by hand, then
    # fixed like the channel; the SKU id stays editable.
    fixed_after_creation = ("channel", "vario_article_id", "article_number", "ean")

    def get_fields(self, request, obj=None):
        return ("channel", "vario_article_id", "article_number", "ean", "vtex_sku_id", *self.state_fields)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.changed_by = request.user.get_username()  # a class made for this request (modelform_factory)
        return form

    @admin.display(description="stock last sent")
    def stock_sent(self, obj: SkuMapping) -> str:
        return stock_sent_text(obj.last_stock_sent)

    @admin.display(description="price last sent")
    def price_sent(self, obj: SkuMapping) -> str:
        return price_sent_text(obj.last_price_sent)

    @admin.display(description="last stock sent")
    def last_stock_sent_shown(self, obj: SkuMapping) -> str:
        return json.dumps(obj.last_stock_sent, indent=1, sort_keys=True) if obj.last_stock_sent else "—"

    @admin.display(description="last price sent")
    def last_price_sent_shown(self, obj: SkuMapping) -> str:
        return json.dumps(obj.last_price_sent, indent=1, sort_keys=True) if obj.last_price_sent else "—"

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("unmatched/", self.admin_site.admin_view(self.unmatched_view), name=f"{info}_unmatched"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_see_unmatched": self.has_view_or_change_permission(request)}
        return super().changelist_view(request, extra_context)

    def unmatched_view(self, request):
        """What matching could not map: unmapped and ambiguous articles with the reason, by channel, as a
        page (100 a page) or, with ``?format=csv``, the whole list as a CSV file."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        channels = list(SalesChannel.objects.order_by("code").values_list("code", flat=True))
        channel = request.GET.get("channel", "")
        channel = channel if channel in channels else ""
        statuses = [s for s in request.GET.getlist("status") if s in UNMATCHED_STATUSES] or list(UNMATCHED_STATUSES)
        rows = SkuMapping.objects.filter(status__in=statuses).select_related("channel")
        if channel:
            rows = rows.filter(channel__code=channel)
        rows = rows.order_by("channel__code", "status", "vario_article_id", "id")
        if request.GET.get("format") == "csv":
            return self._unmatched_csv(rows, channel=channel)
        counts = (
            SkuMapping.objects.filter(status__in=UNMATCHED_STATUSES)
            .values("channel__code", "status")
            .annotate(n=Count("id"))
            .order_by("channel__code", "status")
        )
        page = Paginator(rows, UNMATCHED_PAGE_SIZE).get_page(request.GET.get("p"))
        query = {"status": statuses, **({"channel": channel} if channel else {})}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "SKUs that did not match",
            "channels": channels,
            "channel": channel,
            "statuses": [
                (value, label, value in statuses)
                for value, label in SkuMappingStatus.choices
                if value in UNMATCHED_STATUSES
            ],
            "counts": counts,
            "page": page,
            "query": urlencode(query, doseq=True),
        }
        return TemplateResponse(request, "admin/mappings/skumapping/unmatched.html", context)

    def _unmatched_csv(self, rows, *, channel: str) -> StreamingHttpResponse:
        writer = csv.writer(_Echo())
        header = ["channel", "vario_article_id", "article_number", "ean", "status", "reason", "last_matched_at"]

        def lines():
            yield writer.writerow(header)
            for row in rows.iterator(chunk_size=1000):
                checked = row.last_checked_at.isoformat() if row.last_checked_at else ""
                cells = [row.channel.code, row.vario_article_id, row.article_number, row.ean, row.status, row.message]
                yield writer.writerow([csv_cell(c) for c in [*cells, checked]])

        name = f"unmatched-skus{'-' + channel if channel else ''}.csv"
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


def stock_sent_text(sent: dict) -> str:
    """``wh_main: 9, wh_berlin: ∞`` from the last inventory bodies per warehouse."""
    if not sent:
        return "—"
    parts = []
    for warehouse, body in sorted(sent.items()):
        if isinstance(body, dict) and body.get("unlimitedQuantity"):
            shown = "∞"
        elif isinstance(body, dict) and "quantity" in body:
            shown = str(body["quantity"])
        else:
            shown = "?"
        parts.append(f"{warehouse}: {shown}")
    return ", ".join(parts)


def price_sent_text(sent: dict) -> str:
    """``19.99 (list 24.99), 2 fixed`` from the last price body."""
    if not sent:
        return "—"
    text = str(sent.get("basePrice", "?"))
    if sent.get("listPrice") is not None:
        text += f" (list {sent['listPrice']})"
    fixed = sent.get("fixedPrices") or []
    if fixed:
        text += f", {len(fixed)} fixed"
    return text
