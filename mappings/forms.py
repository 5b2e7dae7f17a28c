from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

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
