"""Import/export (django-import-export) of the mappings people maintain in spreadsheets.

Rows are keyed by natural keys, never database ids: the channel's code plus the business key
(ERP state, carrier key, VTEX order id). A file exported from one portal imports into another.
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from import_export import fields, resources, widgets

from mappings.models import (
    CarrierCode,
    ErpFulfilmentState,
    OrderLink,
    PlatformStatus,
    SalesChannel,
    StatusMapping,
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
