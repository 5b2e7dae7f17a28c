"""Build the POST data an admin change page would submit, from the page's own forms."""

from __future__ import annotations

from django import forms


def _field_data(form) -> dict[str, object]:
    data: dict[str, object] = {}
    for name, field in form.fields.items():
        bound = form[name]
        key = bound.html_name
        if isinstance(field.widget, forms.PasswordInput) and not field.widget.render_value:
            data[key] = ""  # what a browser submits for a write-only field left alone
            continue
        value = bound.value()  # already passed through the field's prepare_value()
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif value is None:
            data[key] = ""
        elif isinstance(value, list | tuple):
            data[key] = [str(v) for v in value]
        else:
            data[key] = str(value)
    return data


def admin_post_data(response) -> dict[str, object]:
    """POST data equal to submitting the rendered change/add page unchanged."""
    data = _field_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = str(value)
        for form in formset.initial_forms:
            data.update(_field_data(form))
    return data
