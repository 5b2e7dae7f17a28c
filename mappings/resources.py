"""Import/export (django-import-export) of the mappings people maintain in spreadsheets.

Rows are keyed by natural keys, never database ids: the channel's code plus the business key
(ERP state, carrier key, VTEX order id). A file exported from one portal imports into another.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from import_export import fields, resources, widgets

from mappings.checks import VTEX_PRICE_TABLES, VTEX_WAREHOUSES, RemoteLists
from mappings.models import (
    CarrierCode,
    CatalogSettings,
    ErpFulfilmentState,
    ListPriceSource,
    OrderLink,
    PlatformStatus,
    PriceMode,
    PriceTableMapping,
    SalesChannel,
    SkuMapping,
    StatusMapping,
    StockField,
    WarehouseMapping,
    validate_vtex_id,
)


class ChannelCodeWidget(widgets.ForeignKeyWidget):
    def __init__(self) -> None:
        super().__init__(SalesChannel, field="code")

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            raise ValueError("The channel column is empty: give the sales channel's code.")
        try:
            return super().clean(str(value).strip(), row, **kwargs)
        except SalesChannel.DoesNotExist:
            raise ValueError(f"No sales channel with code '{value}'.") from None


class ChoiceWidget(widgets.CharWidget):
    """Accepts a choice's value or its label, so a hand-edited spreadsheet reads naturally."""

    def __init__(self, choices) -> None:
        super().__init__()
        self.choices = choices

    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        for choice_value, label in self.choices.choices:
            if text in (choice_value, label) or text.lower() == str(label).lower():
                return choice_value
        allowed = ", ".join(self.choices.values)
        raise ValueError(f"'{text}' is not one of: {allowed}.")


class OptionalChoiceWidget(ChoiceWidget):
    """A choice, or an empty cell for "none" (a price table's mode: the channel's)."""

    def clean(self, value, row=None, **kwargs):
        if value is None or not str(value).strip():
            return ""
        return super().clean(value, row, **kwargs)


class StrictBooleanWidget(widgets.BooleanWidget):
    """true/false, yes/no, 1/0 in any case; an empty cell is false. Anything else is a row error:
    the library's own widget reads every value it does not know ("Y", "x", "ja") as false, silently."""

    TRUE_TEXTS = frozenset({"1", "true", "yes"})
    FALSE_TEXTS = frozenset({"0", "false", "no", ""})

    def clean(self, value, row=None, **kwargs):
        if isinstance(value, bool):
            return value
        text = "" if value is None else str(value).strip().lower()
        if text in self.TRUE_TEXTS:
            return True
        if text in self.FALSE_TEXTS:
            return False
        raise ValueError(f"'{value}' is not a yes/no value: use true or false (also yes/no, 1/0).")


def boolean_field(name: str) -> fields.Field:
    return fields.Field(attribute=name, column_name=name, widget=StrictBooleanWidget())


def channel_field() -> fields.Field:
    return fields.Field(attribute="channel", column_name="channel", widget=ChannelCodeWidget())


class PortalResource(resources.ModelResource):
    """Common rules: skip unchanged rows, validate every row like the admin form does."""

    class Meta:
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True

    def import_data(self, dataset, **kwargs):
        # One bad row fails the whole file: a half-applied mapping table is worse than none.
        kwargs.setdefault("rollback_on_validation_errors", True)
        return super().import_data(dataset, **kwargs)

    def before_import(self, dataset, **kwargs):
        # Two rows for one key would both apply, the last one winning unnoticed. Keys are compared as
        # the widgets read them (a choice's value or its label is one key); a row whose key cannot be
        # read is left to the row errors.
        key_fields = [self.fields[name] for name in self._meta.import_id_fields]
        if all(f.column_name in (dataset.headers or ()) for f in key_fields):
            seen: dict[tuple, int] = {}
            for number, row in enumerate(dataset.dict, start=1):
                try:
                    key = tuple(f.clean(row) for f in key_fields)
                except (ValueError, ObjectDoesNotExist):
                    continue
                if key in seen:
                    shown = ", ".join(f"{f.column_name}={row[f.column_name]}" for f in key_fields)
                    raise ValueError(f"Rows {seen[key]} and {number} are both for {shown}: keep one of them.")
                seen[key] = number
        return super().before_import(dataset, **kwargs)

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            # A bad key column (unknown channel, bad choice): import_instance() reports it
            # as a validation error on that column, with the row number, instead of a traceback.
            return None


class StatusMappingResource(PortalResource):
    channel = channel_field()
    erp_state = fields.Field(attribute="erp_state", column_name="erp_state", widget=ChoiceWidget(ErpFulfilmentState))
    platform_status = fields.Field(
        attribute="platform_status", column_name="platform_status", widget=ChoiceWidget(PlatformStatus)
    )

    class Meta(PortalResource.Meta):
        model = StatusMapping
        import_id_fields = ("channel", "erp_state")
        fields = ("channel", "erp_state", "platform_status", "marketplace_status")
        export_order = fields


class CarrierCodeResource(PortalResource):
    channel = channel_field()
    accepted_by_marketplace = boolean_field("accepted_by_marketplace")
    integrated_with_vtex_tracking = boolean_field("integrated_with_vtex_tracking")

    class Meta(PortalResource.Meta):
        model = CarrierCode
        import_id_fields = ("channel", "erp_carrier_key")
        fields = (
            "channel",
            "erp_carrier_key",
            "vtex_courier_name",
            "tracking_url_template",
            "accepted_by_marketplace",
            "integrated_with_vtex_tracking",
        )
        export_order = fields


class OrderLinkResource(PortalResource):
    """Order links by (channel, VTEX order id). An existing link's ids are what the sync finds the order
    by, fixed once created as on its admin page: a row that would change one is a row error."""

    channel = channel_field()
    ids_fixed_after_creation = ("marketplace_order_id", "erp_order_id", "erp_order_number")

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if instance.pk and field.attribute in self.ids_fixed_after_creation and field.column_name in row:
            current = getattr(instance, field.attribute)
            given = field.clean(row, **kwargs)
            if (given or "") != (current or ""):
                # import_instance() reports the ValueError on this column with the row number.
                raise ValueError(
                    f"The link exists with {field.column_name} '{current}'; its ids cannot change by import."
                )
        return super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)

    class Meta(PortalResource.Meta):
        model = OrderLink
        import_id_fields = ("channel", "vtex_order_id")
        fields = (
            "channel",
            "vtex_order_id",
            "marketplace_order_id",
            "erp_order_id",
            "erp_order_number",
            "vtex_status",
            "erp_state",
        )
        export_order = fields


# --- Stock and prices (reference/catalog-sync.md §3.1, §3.2) --------------------------------------------------


class CatalogSettingsResource(PortalResource):
    """One row per channel, by its code. The channel's row exists from its creation, so an import changes it."""

    channel = channel_field()
    stock_field = fields.Field(attribute="stock_field", column_name="stock_field", widget=ChoiceWidget(StockField))
    unlimited_when_sellable_without_stock = boolean_field("unlimited_when_sellable_without_stock")
    price_mode = fields.Field(attribute="price_mode", column_name="price_mode", widget=ChoiceWidget(PriceMode))
    list_price_source = fields.Field(
        attribute="list_price_source", column_name="list_price_source", widget=ChoiceWidget(ListPriceSource)
    )

    class Meta(PortalResource.Meta):
        model = CatalogSettings
        import_id_fields = ("channel",)
        fields = (
            "channel",
            "stock_field",
            "unlimited_when_sellable_without_stock",
            "safety_stock",
            "lead_time",
            "stock_debounce_seconds",
            "price_mode",
            "base_price_group_id",
            "list_price_source",
            "list_price_group_id",
            "list_price_country",
            "currency",
            "price_debounce_seconds",
        )
        export_order = fields


class RemoteCheckedResource(PortalResource):
    """Rows whose VTEX id is checked against VTEX's list like the admin form does (mappings.checks): each
    channel's list is read once per import, and only rows that change are checked (unchanged ones are
    skipped before validation)."""

    remote_list = ""
    remote_id_field = ""
    remote_id_validator = staticmethod(validate_vtex_id)

    def before_import(self, dataset, **kwargs):
        self.remote_lists = RemoteLists()
        return super().before_import(dataset, **kwargs)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        value = getattr(instance, self.remote_id_field)
        if not ({self.remote_id_field, "channel"} & set(errors)) and instance.channel_id and value:
            try:
                self.remote_id_validator(value)
            except ValidationError:
                pass  # the model's own validation names it
            else:
                lists = getattr(self, "remote_lists", None) or RemoteLists()
                problem = lists.problem(kind=self.remote_list, channel=instance.channel, value=value)
                if problem:
                    errors[self.remote_id_field] = [problem]
        return super().validate_instance(instance, errors, validate_unique)


class WarehouseMappingResource(RemoteCheckedResource):
    channel = channel_field()
    remote_list = VTEX_WAREHOUSES
    remote_id_field = "vtex_warehouse_id"

    class Meta(PortalResource.Meta):
        model = WarehouseMapping
        import_id_fields = ("channel", "vario_storage_id")
        fields = ("channel", "vario_storage_id", "vtex_warehouse_id")
        export_order = fields


class PriceTableMappingResource(RemoteCheckedResource):
    channel = channel_field()
    price_mode = fields.Field(attribute="price_mode", column_name="price_mode", widget=OptionalChoiceWidget(PriceMode))
    remote_list = VTEX_PRICE_TABLES
    remote_id_field = "vtex_price_table"

    class Meta(PortalResource.Meta):
        model = PriceTableMapping
        import_id_fields = ("channel", "vtex_price_table")
        fields = ("channel", "vtex_price_table", "vario_price_group_id", "price_mode")
        export_order = fields


class SkuIdWidget(widgets.Widget):
    """A VTEX SKU id: digits only (a spreadsheet's whole number too), or an empty cell for none. Not the
    library's IntegerWidget, which reads 12.5 as 12: a SKU id read wrongly maps an article to another SKU."""

    def clean(self, value, row=None, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool):
            raise ValueError(f"'{value}' is not a VTEX SKU id (a whole number).")
        text = str(value).strip()
        if not text.isascii() or not text.isdigit():
            raise ValueError(f"'{value}' is not a VTEX SKU id (a whole number).")
        return int(text)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class SkuMappingResource(PortalResource):
    """SKU mappings by (channel, VARIO article id). What matching found is exported for reading (state
    columns) and ignored on import; an imported SKU id that differs from the stored one is a mapping set by
    hand, as on the admin page (``SkuMapping.sku_set_by_hand``), and an emptied one unmaps the article."""

    channel = channel_field()
    vtex_sku_id = fields.Field(attribute="vtex_sku_id", column_name="vtex_sku_id", widget=SkuIdWidget())
    status = fields.Field(attribute="status", column_name="status", readonly=True)
    matched_by = fields.Field(attribute="matched_by", column_name="matched_by", readonly=True)
    message = fields.Field(attribute="message", column_name="message", readonly=True)
    last_checked_at = fields.Field(
        attribute="last_checked_at", column_name="last_checked_at", readonly=True, widget=widgets.DateTimeWidget()
    )
    last_stock_at = fields.Field(
        attribute="last_stock_at", column_name="last_stock_at", readonly=True, widget=widgets.DateTimeWidget()
    )
    last_price_at = fields.Field(
        attribute="last_price_at", column_name="last_price_at", readonly=True, widget=widgets.DateTimeWidget()
    )

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if field.attribute == "vtex_sku_id" and field.column_name in row:
            given = field.clean(row, **kwargs)
            if instance.pk is None or given != instance.vtex_sku_id:
                instance._sku_set_by_import = True
        return super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        # Before the row is validated: an emptied SKU id makes the article unmapped, which the constraint
        # "a mapped article has its SKU" then accepts.
        if getattr(instance, "_sku_set_by_import", False):
            user = kwargs.get("user")
            instance.sku_set_by_hand(by=f"{user.get_username()} (import)" if user is not None else "an import")

    class Meta(PortalResource.Meta):
        model = SkuMapping
        import_id_fields = ("channel", "vario_article_id")
        fields = (
            "channel",
            "vario_article_id",
            "article_number",
            "ean",
            "vtex_sku_id",
            "status",
            "matched_by",
            "message",
            "last_checked_at",
            "last_stock_at",
            "last_price_at",
        )
        export_order = fields
