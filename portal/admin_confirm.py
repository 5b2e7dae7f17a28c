"""A confirmation page in front of a bulk admin action that acts on the remotes (design §2.10).

Django's own "delete selected" pattern: the action's first POST (from the changelist's action menu)
renders a page that says what the action will do to how many rows and lists every selected row it leaves
out, with the reason; the page's button POSTs the same action back for the rows that apply, with
``post=yes``, and only then does it run. The rows are filtered again then: one may have changed since the
page was shown. Use::

    RETRY = BulkAction(name="retry", title="Retry orders", verb="queued again", consequence="...", applies=Q(...),
                       left_out=(LeftOut(Q(...), "done: nothing is left to do"),))

    @admin.action(description="...", permissions=["change"])
    def retry(self, request, queryset):
        return bulk_action_confirm(self, request, queryset, action=RETRY, run=..., done_message=...)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import model_ngettext
from django.db.models import Q, QuerySet
from django.template.response import TemplateResponse

SHOWN_ROWS = 100  # rows listed per group on the page; the counts are always complete


@dataclass(frozen=True)
class LeftOut:
    """Selected rows matching ``when`` are left out, for ``reason``."""

    when: Q
    reason: str


@dataclass(frozen=True)
class BulkAction:
    name: str  # the admin action's name, as the changelist POSTs it
    title: str  # the page's title: "Retry orders"
    verb: str  # what happens to each row that applies: "N orders will be <verb>"
    consequence: str  # what that means on the remotes, said plainly
    applies: Q  # the rows the action acts on
    # Why the other rows are left out: the first that matches names it; unmatched ones "do not apply".
    left_out: tuple[LeftOut, ...] = ()
    confirm_label: str = "Yes, go ahead"


def bulk_action_confirm(
    model_admin: admin.ModelAdmin,
    request,
    queryset: QuerySet,
    *,
    action: BulkAction,
    run: Callable[[QuerySet], int],
    done_message: Callable[[int], str],
) -> TemplateResponse | None:
    """The confirmation page, or (confirmed) ``run`` on the rows that apply and a message; None then
    sends the admin back to the changelist."""
    if request.POST.get("post") == "yes":
        count = run(queryset.filter(action.applies))
        model_admin.message_user(request, done_message(count), messages.SUCCESS if count else messages.INFO)
        return None

    opts = model_admin.model._meta
    applicable = queryset.filter(action.applies)
    rest = queryset.exclude(action.applies)
    groups = []
    for group in (*action.left_out, LeftOut(Q(), "the action does not apply to it")):
        rows = rest.filter(group.when)
        count = rows.count()
        if count:
            groups.append(
                {
                    "reason": group.reason,
                    "noun": noun(opts, count),
                    "rows": rows[:SHOWN_ROWS],
                    "more": max(count - SHOWN_ROWS, 0),
                }
            )
        rest = rest.exclude(group.when) if group.when else rest.none()
    applicable_pks = list(applicable.values_list("pk", flat=True))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": action.title,
        "opts": opts,
        "action": action,
        "applicable_count": len(applicable_pks),
        "applicable_noun": noun(opts, len(applicable_pks)),
        "applicable_rows": applicable[:SHOWN_ROWS],
        "applicable_more": max(len(applicable_pks) - SHOWN_ROWS, 0),
        "applicable_pks": applicable_pks,
        "left_out": groups,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media,
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/bulk_action_confirm.html", context)


def noun(opts, count: int) -> str:
    return f"{count} {model_ngettext(opts, count)}"
