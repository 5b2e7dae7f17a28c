"""Watching the catalog sync in the admin (issue #16 item 6; docs/catalog.md "Watching the catalog sync").

- The SKU mapping list, re-registered over ``mappings.admin.SkuMappingAdmin`` (as ``sync.admin`` does for order
  links, since ``mappings`` may call no remote): "match now" for the selected articles or their whole channels, the
  open stock, price and matching work of each article, and on its page the work's outcome and the article's whole
  timeline (events, attempts, every remote call with method, path, status and duration), like the order timeline.
- The catalog work items: read-only, filtered by channel, topic, state and reason; "retry now" for failed and
  parked items behind a confirmation (``portal.admin_confirm``); and the failures grouped by cause, each with a
  readable title, a hint and a link to the filtered list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db.models import F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Concat
from django.http import HttpResponseBadRequest, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from mappings.admin import SkuMappingAdmin
from mappings.models import SkuMapping
from portal.admin_confirm import BulkAction, LeftOut, bulk_action_confirm
from sync.catalog.intake import UNMAPPED, catalog_work_request, catalog_work_retry
from sync.catalog.models import CatalogTimelineEntry, CatalogWork
from sync.catalog.timeline import Kind, catalog_timeline_add
from sync.queue import sku_mappings_match_enqueue

State = CatalogWork.State
Topic = CatalogWork.Topic

TIMELINE_LIMIT = 500  # newest entries shown on a SKU mapping's page, as on an order link's
STATE_COLOURS = {
    State.QUEUED: "#417690",
    State.RUNNING: "#417690",
    State.DONE: "#447e36",
    State.SKIPPED: "#666",
    State.PARKED: "#b36b00",
    State.FAILED: "#ba2121",
}
# What "retry now" applies to: items that rest without the machinery coming back to them by itself. Queued and
# running ones are in hand already; a done or skipped one has nothing left to do (the next event brings it back).
RETRYABLE_STATES = (State.FAILED, State.PARKED)
# The causes page lists these: the items that wait for a person (failed, parked) and the queued ones that wait out a
# back-off after a failed try (they carry the reason of that try).
OPEN_PROBLEM = Q(state__in=RETRYABLE_STATES) | (Q(state=State.QUEUED) & Q(attempts__gt=0) & ~Q(reason=""))

CATALOG_WORK_RETRY = BulkAction(
    name="retry",
    title="Retry catalog work",
    verb="run again now",
    consequence=(
        "Each reads the article's current stock or price in VARIO again and sends VTEX only what differs from what "
        "it was last told. A parked item whose SKU is still not mapped stays parked and its article is matched "
        "with VTEX again."
    ),
    applies=Q(state__in=RETRYABLE_STATES),
    left_out=(
        LeftOut(Q(state__in=CatalogWork.OPEN), "queued or running already"),
        LeftOut(Q(state=State.DONE), "done: nothing is left to do (the next ERP change sends it again)"),
        LeftOut(Q(state=State.SKIPPED), "skipped: its toggle is off or its channel inactive"),
    ),
    confirm_label="Yes, retry them",
)


def nul_in_query(request) -> bool:
    """A NUL in a filter or search: PostgreSQL's text refuses it (an error, a 500), SQLite would not; answered 400."""
    return any("\x00" in value for values in request.GET.lists() for value in values[1])


def state_badge(state: str, label: str, reason: str = "") -> str:
    colour = STATE_COLOURS.get(state, "#666")
    shown = f"{label} ({reason})" if reason else label
    return format_html(
        '<span class="catalog-state catalog-state-{}" style="color:{};font-weight:bold">{}</span>', state, colour, shown
    )


# --- the SKU mapping list and page ----------------------------------------------------------------------------


def _work_of(topic: str) -> Subquery:
    """The article's work item of ``topic`` as "state:reason" (one row at most: one item per channel, topic and
    article), so the list shows the work without a query per row."""
    rows = CatalogWork.objects.filter(
        channel_id=OuterRef("channel_id"), vario_article_id=OuterRef("vario_article_id"), topic=topic
    )
    return Subquery(rows.annotate(shown=Concat(F("state"), Value(":"), F("reason"))).values("shown")[:1])


admin.site.unregister(SkuMapping)


@admin.register(SkuMapping)
class SkuMappingWithMatchingAdmin(SkuMappingAdmin):
    list_display = (*SkuMappingAdmin.list_display, "open_work")
    actions = (*(SkuMappingAdmin.actions or ()), "match_now", "match_channels")
    change_form_template = "admin/catalog/skumapping/change_form.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(**{f"_work_{topic}": _work_of(topic) for topic in Topic.values})
            .select_related("channel")
        )

    @admin.display(description="open work")
    def open_work(self, obj: SkuMapping) -> str:
        """The stock, price and matching work that is not done: its state and reason, coloured."""
        parts = []
        for topic, label in Topic.choices:
            shown = getattr(obj, f"_work_{topic}", None)
            if not shown:
                continue
            state, _, reason = shown.partition(":")
            if state in (State.DONE, State.SKIPPED):
                continue
            shown_state = dict(State.choices).get(state, state)
            parts.append(format_html("{}: {}", label.lower(), state_badge(state, shown_state, reason)))
        if not parts:
            return "—"
        return format_html("<br>".join(["{}"] * len(parts)), *parts)

    def changelist_view(self, request, extra_context=None):
        if nul_in_query(request):
            return HttpResponseBadRequest("A filter or search may not contain a NUL character.")
        return super().changelist_view(request, extra_context)

    @admin.action(description="Match the selected articles with VTEX now", permissions=["change"])
    def match_now(self, request, queryset):
        """Each selected article is matched again (its listing read from VARIO, RefId then EAN looked up in
        VTEX) by the catalog flow's worker; what it maps gets its stock and price sent as the toggles allow."""
        who = request.user.get_username()
        count = 0
        for row in queryset.select_related("channel").iterator(chunk_size=500):
            catalog_work_request(
                channel=row.channel, topic=CatalogWork.Topic.MATCH, vario_article_id=row.vario_article_id, debounce=0
            )
            catalog_timeline_add(
                channel_id=row.channel_id,
                vario_article_id=row.vario_article_id,
                topic=CatalogWork.Topic.MATCH,
                kind=Kind.OPERATOR,
                title=f"Matching requested by {who}",
            )
            count += 1
        self.message_user(request, f"{count} article(s) queued for matching with VTEX.", messages.SUCCESS)

    @admin.action(description="Match every listed article of these channels with VTEX", permissions=["change"])
    def match_channels(self, request, queryset):
        codes = sorted(set(queryset.values_list("channel__code", flat=True)))
        queued = [code for code in codes if sku_mappings_match_enqueue(channel_code=code)]
        if queued:
            self.message_user(request, f"Matching queued for channel(s) {', '.join(queued)}.", messages.SUCCESS)
        if len(queued) < len(codes):
            self.message_user(request, "The work queue is unavailable; try again shortly.", messages.ERROR)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The page adds the article's work items (their outcome) and its timeline, oldest first of the newest
        ``TIMELINE_LIMIT`` entries, as the order link page does."""
        mapping = self.get_object(request, object_id)
        work: list[CatalogWork] = []
        entries: list[CatalogTimelineEntry] = []
        truncated = False
        if mapping is not None:
            article = {"channel_id": mapping.channel_id, "vario_article_id": mapping.vario_article_id}
            work = list(CatalogWork.objects.filter(**article).order_by("topic"))
            timeline = CatalogTimelineEntry.objects.filter(**article).order_by("-created_at", "-id")
            newest = list(timeline[: TIMELINE_LIMIT + 1])
            truncated = len(newest) > TIMELINE_LIMIT
            entries = list(reversed(newest[:TIMELINE_LIMIT]))
        context = {
            **(extra_context or {}),
            "catalog_work": [{"item": w, "badge": state_badge(w.state, w.get_state_display(), w.reason)} for w in work],
            "timeline": entries,
            "timeline_truncated": truncated,
            "timeline_limit": TIMELINE_LIMIT,
            "work_list_url": reverse("admin:catalog_catalogwork_changelist"),
            "can_see_work": CatalogWorkAdmin.may_see(request),
        }
        return super().change_view(request, object_id, form_url, context)


# --- the work items and their failures by cause --------------------------------------------------------------

REJECTION = re.compile(r"→ (?P<status>\d{3})(?: \[(?P<code>[^\]]+)\])?")
WAREHOUSE = re.compile(r"warehouse (?P<warehouse>\S+) \(")


@dataclass(frozen=True)
class CauseText:
    title: str
    hint: str


# A readable title and what to do, per reason (the reasons of sync.catalog.batch, intake and plan; docs/catalog.md
# "Failures"). ``{detail}`` is the warehouse or VTEX's answer code the cause is grouped by.
CAUSES: dict[str, CauseText] = {
    "UNKNOWN_WAREHOUSE": CauseText(
        "VTEX warehouse {detail} does not exist",
        "Fix the channel's warehouse map (or create the warehouse in VTEX), then retry the items.",
    ),
    "INVALID_PRICE": CauseText(
        "The ERP's price cannot be sent",
        "VTEX takes no price of 0 or below (reference/catalog-sync.md §3.5): fix the sales price in VARIO; "
        "its price change sends it.",
    ),
    UNMAPPED: CauseText(
        "The article's SKU is not mapped",
        "See the SKU mappings' “Not matched” report: a match or a SKU id typed by hand releases the items.",
    ),
    "VTEX_REJECTED": CauseText(
        "VTEX refused the request ({detail})",
        "Read VTEX's answer in the items' message, fix the data it names, then retry.",
    ),
    "VTEX_FORBIDDEN": CauseText(
        "VTEX refused the channel's credentials ({detail})",
        "The app key lacks a License Manager resource for Logistics, Pricing or Catalog (docs/operations.md); "
        "fix its role, then retry.",
    ),
    "VTEX_UNAVAILABLE": CauseText(
        "VTEX did not answer", "Tries are repeated with back-off; once VTEX answers again, retry what failed."
    ),
    "ERP_UNAVAILABLE": CauseText(
        "VARIO did not answer", "Tries are repeated with back-off; once VARIO answers again, retry what failed."
    ),
    "ERP_ERROR": CauseText("VARIO refused the read", "Read VARIO's answer in the items' message, then retry."),
    "NOT_CONFIGURED": CauseText(
        "The channel is not configured for stock and prices",
        "Complete its warehouse map, price map and VTEX credentials (the message says what is missing), then retry.",
    ),
    "INVENTORY_LOCKED": CauseText("VTEX kept the inventory locked", "VTEX answered 423 on every try; retry the items."),
    "UNEXPECTED_ERROR": CauseText(
        "The batch stopped unexpectedly", "A bug or an outage: the worker's log has the traceback; retry the items."
    ),
}


@dataclass
class Cause:
    """One group of open failures: a reason and, where it has one, the warehouse or VTEX's answer code."""

    reason: str
    detail: str
    search: str  # what the filtered list searches for to show only this group
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    states: set[str] = field(default_factory=set)

    @property
    def text(self) -> CauseText:
        return CAUSES.get(self.reason, CauseText(self.reason or "No reason recorded", "Read the items' message."))

    @property
    def title(self) -> str:
        return self.text.title.format(detail=self.detail or "no code")

    @property
    def hint(self) -> str:
        return self.text.hint.format(detail=self.detail)


def cause_of(reason: str, message: str) -> tuple[str, str]:
    """The detail a reason's failures are grouped by, and the search that finds them: the warehouse VTEX does not
    know, or the HTTP status and code VTEX refused with (the message is the client error's ``str``)."""
    if reason == "UNKNOWN_WAREHOUSE" and (found := WAREHOUSE.search(message)):
        return found["warehouse"], f'"warehouse {found["warehouse"]} ("'
    if reason in ("VTEX_REJECTED", "VTEX_FORBIDDEN") and (found := REJECTION.search(message)):
        code = f" [{found['code']}]" if found["code"] else ""
        return f"HTTP {found['status']}{code}", f'"→ {found["status"]}{code}"'
    return "", ""


def catalog_failures_by_cause(*, channel_id: int | None = None) -> list[Cause]:
    """The open failures (failed, parked, or queued again after a failed try) grouped by cause, most first."""
    rows = CatalogWork.objects.filter(OPEN_PROBLEM)
    if channel_id is not None:
        rows = rows.filter(channel_id=channel_id)
    causes: dict[tuple[str, str], Cause] = {}
    for reason, message, state, seen in rows.values_list("reason", "message", "state", "updated_at").iterator(
        chunk_size=2000
    ):
        detail, search = cause_of(reason, message)
        cause = causes.setdefault((reason, detail), Cause(reason=reason, detail=detail, search=search))
        cause.count += 1
        cause.states.add(state)
        cause.first_seen = seen if cause.first_seen is None else min(cause.first_seen, seen)
        cause.last_seen = seen if cause.last_seen is None else max(cause.last_seen, seen)
    return sorted(causes.values(), key=lambda c: (-c.count, c.reason, c.detail))


@admin.register(CatalogWork)
class CatalogWorkAdmin(admin.ModelAdmin):
    """Rows the catalog flow's machinery writes: read-only (a change form's save would write back what was read
    when the page was opened, over what a worker wrote since), none added or deleted by hand. Retrying needs the
    model's change permission, as the order syncs' does."""

    list_display = (
        "vario_article_id",
        "channel",
        "topic",
        "state_shown",
        "reason",
        "short_message",
        "attempts",
        "eligible_at",
        "updated_at",
    )
    list_filter = ("channel", "topic", "state", "reason")
    search_fields = ("vario_article_id__exact", "message")
    list_select_related = ("channel",)
    actions = ("retry",)
    change_list_template = "admin/catalog/catalogwork/change_list.html"

    @staticmethod
    def may_see(request) -> bool:
        user = request.user
        return user.has_perm("catalog.view_catalogwork") or user.has_perm("catalog.change_catalogwork")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_retry_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename('change', self.opts)}")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.opts.concrete_fields if f.editable]

    @admin.display(description="state", ordering="state")
    def state_shown(self, work: CatalogWork) -> str:
        return state_badge(work.state, work.get_state_display())

    @admin.display(description="message")
    def short_message(self, work: CatalogWork) -> str:
        if len(work.message) <= 120:
            return work.message
        return format_html('<span title="{}">{}…</span>', work.message, work.message[:120])

    @admin.action(description="Retry the selected failed or parked items now", permissions=["retry"])
    def retry(self, request, queryset):
        def run(applicable) -> int:
            items = list(applicable.select_related("channel"))
            for work in items:
                catalog_work_retry(work=work, actor=request.user.get_username())
            return len(items)

        return bulk_action_confirm(
            self,
            request,
            queryset,
            action=CATALOG_WORK_RETRY,
            run=run,
            done_message=lambda count: ngettext("%d item queued again.", "%d items queued again.", count) % count,
        )

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("causes/", self.admin_site.admin_view(self.causes_view), name=f"{info}_causes"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        if nul_in_query(request):
            return HttpResponseBadRequest("A filter or search may not contain a NUL character.")
        # Django shows the list again for an action the user is not offered; a POST of one is refused outright,
        # so a viewer's forged "retry" is a 403 like any other write they may not make.
        posted = request.POST.get("action") if request.method == "POST" else None
        if posted and posted not in self.get_actions(request):
            raise PermissionDenied
        extra_context = {**(extra_context or {}), "causes_url": reverse("admin:catalog_catalogwork_causes")}
        return super().changelist_view(request, extra_context)

    def causes_view(self, request):
        """Failures grouped by cause: count, first and last seen, a title and a hint, a link to the items."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        changelist = reverse("admin:catalog_catalogwork_changelist")
        causes = []
        for cause in catalog_failures_by_cause():
            query = {"reason": cause.reason}
            if cause.states <= set(RETRYABLE_STATES) and len(cause.states) == 1:
                query["state__exact"] = next(iter(cause.states))
            if cause.search:
                query["q"] = cause.search
            causes.append({"cause": cause, "url": f"{changelist}?{urlencode(query)}"})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Catalog failures by cause",
            "causes": causes,
            "total": sum(c["cause"].count for c in causes),
            "unmatched_url": reverse("admin:mappings_skumapping_unmatched"),
            "unmapped_reason": UNMAPPED,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/catalog/catalogwork/causes.html", context)
