from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from mappings.checks import VTEX_PRICE_TABLES, VTEX_WAREHOUSES, RemoteLists
from mappings.models import PriceTableMapping, SkuMapping, WarehouseMapping, validate_vtex_id

_HEADER_SAFE = re.compile(r"^[\x21-\x7e]*$")


def header_value_validator(value: str) -> None:
    """Credentials travel as HTTP header values: no spaces, line breaks or other control characters
    (a token pasted across two lines would fail every call, and the HTTP library quotes the bad value
    in its error). The message never echoes the value."""
    if value and not _HEADER_SAFE.match(value):
        raise ValidationError(
            "Contains a space, a line break or another character a credential cannot have; paste it again.",
            code="header_value",
        )


class CommaSeparatedListField(forms.CharField):
    """Edits a JSON list of strings as "A, B, C"."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


class RemoteCheckedForm(forms.ModelForm):
    """A map row whose VTEX id is checked against VTEX's own list when saved (reference/catalog-sync.md
    §3.1). ``remote_check`` is the hook: by default it asks the lister the catalog flow registered for
    ``remote_list`` (mappings.checks), and does nothing when none is; a subclass may override it. Only a new
    row, or a changed id, is checked: saving an unchanged row costs no VTEX call."""

    remote_list: str = ""
    remote_id_field: str = ""

    def __init__(self, *args, remote_lists: RemoteLists | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.remote_lists = remote_lists or RemoteLists()

    def clean(self):
        cleaned = super().clean()
        if self.remote_id_field not in self.errors and "channel" not in self.errors:
            self.remote_check(cleaned)
        return cleaned

    def remote_check(self, cleaned: dict) -> None:
        value = cleaned.get(self.remote_id_field)
        channel = cleaned.get("channel") or getattr(self.instance, "channel", None)
        if not value or channel is None:
            return
        try:
            validate_vtex_id(value)
        except ValidationError:
            return  # the model's own validation names it; VTEX is not asked about a malformed id
        if self.instance.pk and not {self.remote_id_field, "channel"} & set(self.changed_data):
            return
        problem = self.remote_lists.problem(kind=self.remote_list, channel=channel, value=value)
        if problem:
            self.add_error(self.remote_id_field, problem)


class WarehouseMappingForm(RemoteCheckedForm):
    remote_list = VTEX_WAREHOUSES
    remote_id_field = "vtex_warehouse_id"

    class Meta:
        model = WarehouseMapping
        fields = ("channel", "vario_storage_id", "vtex_warehouse_id")


class PriceTableMappingForm(RemoteCheckedForm):
    remote_list = VTEX_PRICE_TABLES
    remote_id_field = "vtex_price_table"

    class Meta:
        model = PriceTableMapping
        fields = ("channel", "vtex_price_table", "vario_price_group_id", "price_mode")


class SkuMappingForm(forms.ModelForm):
    """A SKU id typed (or removed) by a person: the mapping becomes theirs (``SkuMapping.sku_set_by_hand``),
    applied before the model validates it, so an emptied id unmaps instead of breaking "a mapped article has
    its SKU". ``changed_by`` is set per request by the admin (its form class is made per request)."""

    changed_by = ""

    class Meta:
        model = SkuMapping
        fields = ("channel", "vario_article_id", "article_number", "ean", "vtex_sku_id")

    def clean(self):
        cleaned = super().clean()
        if "vtex_sku_id" not in self.errors and (self.instance.pk is None or "vtex_sku_id" in self.changed_data):
            # The state fields are not form fields: construct_instance() leaves what is set here.
            self.instance.vtex_sku_id = cleaned.get("vtex_sku_id")
            self.instance.sku_set_by_hand(by=self.changed_by)
        return cleaned
