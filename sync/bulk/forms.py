"""The admin's "Start a bulk run…" form: channel, kind, scope and dry run, checked by the kind itself."""

from __future__ import annotations

from typing import Any

from django import forms

from mappings.models import SalesChannel
from sync.bulk.kinds import ScopeInvalid
from sync.bulk.models import BulkRun
from sync.bulk.registry import KINDS

# The scope fields, in the form's order, with what a person types into each. Which kinds read a field is
# added to its help text from the kinds themselves (BulkKind.scope_fields).
SCOPE_FIELDS = ("since", "until", "erp_states", "vtex_statuses", "ids", "force")
MAX_IDS_TEXT = 100_000  # characters: far above 1000 ids (kinds.MAX_IDS), far below a body worth refusing


def kind_label(kind: str) -> str:
    """The kind's name as the model spells it; a kind registered without a label is shown by its key."""
    return dict(BulkRun.Kind.choices).get(kind, kind)


def _read_by(field: str) -> str:
    kinds = [kind_label(key) for key, handler in KINDS.items() if field in handler.scope_fields]
    return f" Read by: {'; '.join(kinds)}." if kinds else " No kind reads it yet."


class BulkRunStartForm(forms.Form):
    """What a run covers. ``clean`` asks the kind to check the scope (``BulkKind.scope_clean``), so a scope
    the service would refuse is a form error here; ``scope`` is then what ``bulk_run_start`` takes."""

    channel = forms.ModelChoiceField(queryset=SalesChannel.objects.order_by("code"), label="Sales channel")
    kind = forms.ChoiceField(label="Kind", choices=())
    since = forms.DateTimeField(
        label="Since",
        required=False,
        widget=forms.DateTimeInput(attrs={"placeholder": "2026-11-01 or 2026-11-01 14:00", "size": 20}),
        help_text="A date or a date and time: the range starts there.",
    )
    until = forms.DateTimeField(
        label="Until",
        required=False,
        widget=forms.DateTimeInput(attrs={"placeholder": "empty: now", "size": 20}),
        help_text="Where the range ends (excluded); empty: now.",
    )
    erp_states = forms.CharField(
        label="ERP states",
        required=False,
        max_length=2000,
        help_text="VARIO document state keys, separated by commas or spaces.",
    )
    vtex_statuses = forms.CharField(
        label="VTEX statuses",
        required=False,
        max_length=2000,
        help_text="VTEX order statuses (e.g. ready-for-handling, invoiced), separated by commas or spaces.",
    )
    ids = forms.CharField(
        label="Order ids",
        required=False,
        max_length=MAX_IDS_TEXT,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 40}),
        help_text="Instead of a range: one per line or separated by commas.",
    )
    force = forms.BooleanField(
        label="Send everything",
        required=False,
        help_text="Send even what VTEX was last told (VTEX may have been changed in its own admin).",
    )
    dry_run = forms.BooleanField(
        label="Dry run",
        required=False,
        help_text="Read both sides and record the calls a real run would send; send nothing.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(key, kind_label(key)) for key in KINDS]
        for name in SCOPE_FIELDS:
            self.fields[name].help_text += _read_by(name)

    def clean(self) -> dict:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if not kind or kind not in KINDS or any(name in self.errors for name in SCOPE_FIELDS):
            return cleaned  # the field's own error says what to fix; the scope is checked once they are valid
        scope = self._scope(cleaned)
        try:
            KINDS[kind].scope_clean(scope)
        except ScopeInvalid as exc:
            raise forms.ValidationError(str(exc), code="scope") from None
        cleaned["scope"] = scope
        return cleaned

    @staticmethod
    def _scope(cleaned: dict) -> dict[str, str]:
        """The scope as the service takes it: only what was filled in, dates as ISO text (as the CLI and
        the stored run carry them)."""
        scope: dict[str, str] = {}
        for name in SCOPE_FIELDS:
            value = cleaned.get(name)
            if value in (None, "", False):
                continue
            scope[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return scope
