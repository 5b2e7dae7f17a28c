"""A text field encrypted at rest with Fernet (``cryptography``), keys from settings."""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


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
                f"Cannot decrypt {self.model.__name__}.{self.name}: it was encrypted with a key that is "
                "not in FIELD_ENCRYPTION_KEY. Add the old key after the new one to rotate."
            ) from None
