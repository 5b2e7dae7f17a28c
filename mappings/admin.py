from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.decorators import method_decorator
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters
from import_export.admin import ImportExportModelAdmin
from import_export.formats.base_formats import CSV, JSON, XLSX

from mappings import services
from mappings.forms import CommaSeparatedListField, header_value_validator
from mappings.models import (
    CarrierCode,
    OrderLink,
    SalesChannel,
    StatusMapping,
    TransferToggle,
    default_cancelled_state_keys,
)
from mappings.resources import CarrierCodeResource, OrderLinkResource, StatusMappingResource
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
    inlines = (TransferToggleInline, StatusMappingInline, CarrierCodeInline)
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
