"""A text field encrypted at rest with Fernet (``cryptography``), keys from settings, and the re-encryption
of every stored value when a new key is put first (``manage.py reencrypt_secrets``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, router, transaction
from django.db.models import Value
from django.db.models.functions import Cast


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:  # a key that is not 32 url-safe base64-encoded bytes
        raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEY holds an invalid Fernet key: {exc}") from None


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


class EncryptedTextField(models.TextField):
    """Stores ``Fernet(value)`` in the database and hands out plaintext in Python.

    Empty strings are stored as empty strings, so "no secret set" stays queryable. Values are not
    searchable or comparable in SQL, by design.
    """

    description = "Text encrypted at rest"

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return fernet().encrypt(value.encode()).decode()

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        try:
            return fernet().decrypt(value.encode()).decode()
        except InvalidToken:
            raise ImproperlyConfigured(
                f"Cannot decrypt {self.model.__name__}.{self.name}: it was encrypted with a key that is not in "
                "FIELD_ENCRYPTION_KEY. Add the old key after the new one, then run `manage.py reencrypt_secrets`."
            ) from None


# --- Key rotation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReencryptCount:
    """What ``encrypted_values_reencrypt`` did to one field of one model. Counts only, never values."""

    label: str  # app_label.Model.field
    reencrypted: int
    current: int  # already under the first key
    empty: int


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every EncryptedTextField of every installed model."""
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def encrypted_values_reencrypt() -> list[ReencryptCount]:
    """Re-encrypt every stored EncryptedTextField value with the first key of FIELD_ENCRYPTION_KEY.

    ``MultiFernet.rotate`` decrypts with whichever key fits and encrypts with the first, keeping the
    token's timestamp; the plaintext never leaves it. Values already under the first key are left as
    they are, so a second run changes nothing. All or nothing: one transaction per database, rows
    locked, and a value no key decrypts stops the run (naming the row, not the value).
    """
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    newest = _fernet(keys[:1])
    rotating = _fernet(keys)
    counts = []
    fields = encrypted_fields()
    for alias in {router.db_for_write(model) for model, _ in fields}:
        with transaction.atomic(using=alias):
            for model, field in fields:
                if router.db_for_write(model) != alias:
                    continue
                counts.append(_field_reencrypt(model=model, field=field, alias=alias, newest=newest, rotating=rotating))
    return counts


def _field_reencrypt(
    *, model: type[models.Model], field: EncryptedTextField, alias: str, newest: MultiFernet, rotating: MultiFernet
) -> ReencryptCount:
    label = f"{model._meta.label}.{field.name}"
    # Cast to a plain text field: the stored token, without from_db_value decrypting it.
    rows = (
        model._base_manager.using(alias)
        .select_for_update()
        .annotate(_stored=Cast(field.attname, output_field=models.TextField()))
        .order_by("pk")
        .values_list("pk", "_stored")
    )
    reencrypted = current = empty = 0
    for pk, stored in rows:
        if stored in (None, ""):
            empty += 1
            continue
        token = stored.encode()
        try:
            newest.decrypt(token)
        except InvalidToken:
            pass
        else:
            current += 1
            continue
        try:
            rotated = rotating.rotate(token).decode()
        except InvalidToken:
            raise ImproperlyConfigured(
                f"Cannot decrypt {label} of row {pk}: none of the keys in FIELD_ENCRYPTION_KEY fits. Add the key "
                "it was encrypted with (after the new one) and run again; nothing was changed."
            ) from None
        # A Value with a plain text output field is written as it is: the field would encrypt it again.
        model._base_manager.using(alias).filter(pk=pk).update(
            **{field.attname: Value(rotated, output_field=models.TextField())}
        )
        reencrypted += 1
    return ReencryptCount(label=label, reencrypted=reencrypted, current=current, empty=empty)
