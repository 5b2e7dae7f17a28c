from __future__ import annotations

from django import forms


class CommaSeparatedListField(forms.CharField):
    """Edits a JSON list of strings as "A, B, C"."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
