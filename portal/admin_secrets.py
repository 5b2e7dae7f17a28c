"""Secrets are write-only in the admin, for everyone and in every mode of every page (design §2.10).

Every ``EncryptedTextField`` of a model is a secret. Django renders each field of a page a user may only
view as text, a secret's decrypted value included, so a secret named in the fieldsets is replaced there
by a "set / not set" line whenever the page is not an edit form, and gets that line beside its
write-only input when it is. A form's companion field ``clear_<secret>`` (remove the stored value) is
shown only with the input.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin
from django.db import models

from portal.fields import EncryptedTextField


def secret_field_names(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(f.name for f in model._meta.get_fields() if isinstance(f, EncryptedTextField))


def secret_state_name(field_name: str) -> str:
    return f"{field_name}_state"


def _secret_state_display(model: type[models.Model], field_name: str) -> Callable[[models.Model], str]:
    label = model._meta.get_field(field_name).verbose_name

    @admin.display(description=f"{label} (stored)")
    def state(obj: models.Model | None) -> str:
        return "set" if obj is not None and getattr(obj, field_name) else "not set"

    return state


class WriteOnlySecretsMixin:
    """For a ModelAdmin with ``fieldsets``: no stored secret is ever rendered, only whether one is set."""

    def __init__(self, model, admin_site) -> None:
        super().__init__(model, admin_site)
        self.secret_fields = secret_field_names(model)
        for name in self.secret_fields:
            # An attribute of the admin, so the admin's read-only field lookup finds the display.
            setattr(self, secret_state_name(name), _secret_state_display(model, name))

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), *map(secret_state_name, self.secret_fields))

    def get_fieldsets(self, request, obj=None):
        editable = self.has_change_permission(request, obj) if obj is not None else self.has_add_permission(request)
        companions = {f"clear_{name}" for name in self.secret_fields}
        fieldsets = []
        for title, options in super().get_fieldsets(request, obj):
            fields: list = []
            for name in options["fields"]:
                if name in self.secret_fields:
                    if obj is not None:
                        fields.append(secret_state_name(name))
                    if editable:
                        fields.append(name)
                elif name in companions:
                    if editable and obj is not None:
                        fields.append(name)
                else:
                    fields.append(name)
            fieldsets.append((title, {**options, "fields": tuple(fields)}))
        return fieldsets
