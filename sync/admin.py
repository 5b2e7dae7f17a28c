"""Where integration managers watch the work: order syncs with their timelines, the inbox, retries."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_rq.models import Dashboard

from mappings.admin import OrderLinkAdmin
from mappings.models import OrderLink
from portal.admin_confirm import BulkAction, LeftOut, bulk_action_confirm
from portal.admin_rq import RqDashboardAdmin
from sync.dry_run import PlannedCall, order_sync_dry_run
from sync.inbox import inbox_event_retry
from sync.models import FeedPollState, InboxEvent, OrderSync, TimelineEntry
from sync.monitoring import feed_poll_health_get, feed_poll_staleness
from sync.runner import order_sync_retry
from sync.timeline import timeline_add

TIMELINE_LIMIT = 500  # newest entries shown on an order link page
# What the bulk retry applies to. A done order is not retried in bulk ("Retry now" on its page still
# checks one again); pending and running ones are queued already.
RETRYABLE_STATUSES = (
    OrderSync.Status.FAILED,
    OrderSync.Status.CONFLICT,
    OrderSync.Status.PARKED,
    OrderSync.Status.WAITING,
    OrderSync.Status.SKIPPED,
)
ORDER_SYNC_RETRY = BulkAction(
    name="retry",
    title="Retry orders",
    verb="run again now",
    consequence=(
        "Each reads its order in VARIO and VTEX again and sends each side only what it lacks: an import creates "
        "the order in VARIO if it is still missing, a status sync sends VTEX the acknowledgment, invoices, "
        "tracking or cancellation it lacks. A conflict's unsent cancellation or item removal may be sent again."
    ),
    applies=Q(status__in=RETRYABLE_STATUSES),
    left_out=(
        LeftOut(Q(status=OrderSync.Status.DONE), "done: open one and use “Retry now” to check it again"),
        LeftOut(Q(status__in=OrderSync.OPEN), "queued or running already"),
    ),
    confirm_label="Yes, retry them",
)
INBOX_EVENT_RETRY = BulkAction(
    name="retry",
    title="Process events again",
    verb="processed again",
    consequence="Each is handled as if it had just arrived: its order is synced with VARIO and VTEX again.",
    applies=Q(status=InboxEvent.Status.FAILED),
    left_out=(
        LeftOut(Q(status=InboxEvent.Status.PROCESSED), "processed already"),
        LeftOut(Q(status=InboxEvent.Status.PENDING), "waiting to be processed"),
        LeftOut(Q(status=InboxEvent.Status.IGNORED), "ignored: nothing to do for it"),
    ),
    confirm_label="Yes, process them again",
)


class ReadOnlyStateAdmin(admin.ModelAdmin):
    """Rows the portal's machinery writes: nobody edits them in the admin, and a change form's save would
    write back every field as read when the page was opened, over what a worker wrote since. Retrying
    needs the model's change permission."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_retry_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename('change', self.opts)}")

    def get_readonly_fields(self, request, obj=None):
        declared = tuple(super().get_readonly_fields(request, obj))
        return (*declared, *(f.name for f in self.opts.concrete_fields if f.name not in declared and f.editable))


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    fields = ("created_at", "kind", "title", "status_code", "duration_ms", "excerpts")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")
    verbose_name_plural = "timeline"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="request / response / detail")
    def excerpts(self, entry: TimelineEntry) -> str:
        parts = [p for p in (entry.detail, entry.request_excerpt, entry.response_excerpt) if p]
        if not parts:
            return ""
        return format_html(
            "<details><summary>show</summary><pre style='white-space:pre-wrap;max-width:60em'>{}</pre></details>",
            "\n\n".join(parts),
        )


@admin.register(OrderSync)
class OrderSyncAdmin(ReadOnlyStateAdmin):
    list_display = ("__str__", "kind", "channel", "status", "needs_mapping", "short_message", "retries", "updated_at")
    list_filter = ("status", "kind", "channel", ("needs_mapping", admin.EmptyFieldListFilter))
    search_fields = ("vtex_order_id", "erp_order_id", "erp_order_number", "message", "needs_mapping")
    list_select_related = ("channel",)
    actions = ("retry",)
    inlines = (TimelineInline,)
    readonly_fields = (
        "kind",
        "channel",
        "key",
        "erp_order_id",
        "erp_order_number",
        "vtex_order_id",
        "order_link",
        "status",
        "message",
        "needs_mapping",
        "generation",
        "done_generation",
        "retries",
        "waits",
        "erp_dissolved",
        "marketplace_status_sent",
        "requested_at",
        "started_at",
        "finished_at",
        "next_attempt_at",
        "created_at",
        "updated_at",
    )

    def has_dry_run_permission(self, request, obj=None) -> bool:
        # A dry run writes nothing, but it reads both remotes with the portal's credentials and budget.
        return self.has_retry_permission(request, obj)

    @admin.display(description="message")
    def short_message(self, sync: OrderSync) -> str:
        if len(sync.message) <= 120:
            return sync.message
        # The whole message on hover; the list stays readable.
        return format_html('<span title="{}">{}…</span>', sync.message, sync.message[:120])

    @admin.action(description="Retry the selected orders now", permissions=["retry"])
    def retry(self, request, queryset):
        def run(applicable) -> int:
            syncs = list(applicable.select_related("channel"))
            for sync in syncs:
                order_sync_retry(order_sync=sync, actor=request.user.get_username())
            return len(syncs)

        return bulk_action_confirm(
            self,
            request,
            queryset,
            action=ORDER_SYNC_RETRY,
            run=run,
            done_message=lambda count: ngettext("%d order queued again.", "%d orders queued again.", count) % count,
        )

    def get_urls(self):
        opts = self.opts
        retry = path(
            "<path:object_id>/retry/",
            self.admin_site.admin_view(self.retry_view),
            name=f"{opts.app_label}_{opts.model_name}_retry",
        )
        dry_run = path(
            "<path:object_id>/dry-run/",
            self.admin_site.admin_view(self.dry_run_view),
            name=f"{opts.app_label}_{opts.model_name}_dry_run",
        )
        return [retry, dry_run, *super().get_urls()]

    @method_decorator(require_POST)
    def retry_view(self, request, object_id):
        """The change page's "Retry now": one order, any status, run again now."""
        if not self.has_retry_permission(request):
            raise PermissionDenied
        sync = self.get_object(request, unquote(object_id))
        if sync is None:
            raise Http404(f"No order sync with id {object_id!r}.")
        order_sync_retry(order_sync=sync, actor=request.user.get_username())
        self.log_change(request, sync, "Retry requested.")
        self.message_user(request, "Queued again.", messages.SUCCESS)
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[sync.pk])
        )

    @method_decorator(require_POST)
    def dry_run_view(self, request, object_id):
        """The change page's "Dry run": the calls a real run of this order would send now, none sent."""
        if not self.has_dry_run_permission(request):
            raise PermissionDenied
        sync = self.get_object(request, unquote(object_id))
        if sync is None:
            raise Http404(f"No order sync with id {object_id!r}.")
        dry_run = order_sync_dry_run(order_sync=sync)
        timeline_add(
            order_sync=sync,
            kind=TimelineEntry.Kind.OPERATOR,
            title=f"Dry run by {request.user.get_username()}: {len(dry_run.calls)} call(s)",
            detail=dry_run.outcome,
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": sync,
            "title": f"Dry run: {sync}",
            "dry_run": dry_run,
            "calls": [dry_run_call_shown(number, call) for number, call in enumerate(dry_run.calls, start=1)],
        }
        return TemplateResponse(request, "admin/sync/ordersync/dry_run.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = {
            **(extra_context or {}),
            "has_retry_permission": self.has_retry_permission(request),
            "has_dry_run_permission": self.has_dry_run_permission(request),
        }
        return super().change_view(request, object_id, form_url, context)


def dry_run_call_shown(number: int, call: PlannedCall) -> dict:
    """One held call as the page shows it: its body as indented JSON."""
    body = "" if call.body is None else json.dumps(call.body, indent=2, ensure_ascii=False, sort_keys=False)
    return {"number": number, "remote": call.remote.upper(), "method": call.method, "path": call.path, "body": body}


@admin.register(InboxEvent)
class InboxEventAdmin(ReadOnlyStateAdmin):
    list_display = ("received_at", "source", "event", "entity_id", "channel", "status", "short_error", "order_sync")
    list_filter = ("status", "source", "channel", "event")
    search_fields = ("entity_id", "event", "dedup_key", "last_error")
    list_select_related = ("channel", "order_sync")
    actions = ("retry",)
    readonly_fields = (
        "source",
        "event",
        "entity_id",
        "payload",
        "channel",
        "dedup_key",
        "status",
        "attempts",
        "last_error",
        "received_at",
        "processed_at",
        "order_sync",
    )
    date_hierarchy = "received_at"

    @admin.display(description="error")
    def short_error(self, event: InboxEvent) -> str:
        return event.last_error[:120]

    @admin.action(description="Process the selected failed events again", permissions=["retry"])
    def retry(self, request, queryset):
        return bulk_action_confirm(
            self,
            request,
            queryset,
            action=INBOX_EVENT_RETRY,
            run=lambda applicable: sum(inbox_event_retry(event=e) for e in applicable),
            done_message=lambda count: ngettext("%d event queued again.", "%d events queued again.", count) % count,
        )


class OrderSyncInline(admin.TabularInline):
    model = OrderSync
    fk_name = "order_link"
    fields = ("kind", "status", "message", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


admin.site.unregister(OrderLink)


@admin.register(OrderLink)
class OrderLinkWithTimelineAdmin(OrderLinkAdmin):
    """The order link page, with the order's sync work and its whole timeline."""

    inlines = (OrderSyncInline,)
    change_form_template = "admin/sync/orderlink/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        link = self.get_object(request, object_id)
        entries: list[TimelineEntry] = []
        truncated = False
        if link is not None:
            same_order = Q(vtex_order_id=link.vtex_order_id) | (Q(erp_order_id=link.erp_order_id) & ~Q(erp_order_id=""))
            newest = list(
                TimelineEntry.objects.filter(channel=link.channel)
                .filter(same_order)
                .order_by("-created_at", "-id")[: TIMELINE_LIMIT + 1]
            )
            truncated = len(newest) > TIMELINE_LIMIT
            entries = list(reversed(newest[:TIMELINE_LIMIT]))
        context = {
            **(extra_context or {}),
            "timeline": entries,
            "timeline_truncated": truncated,
            "timeline_limit": TIMELINE_LIMIT,
        }
        return super().change_view(request, object_id, form_url, context)


@admin.register(FeedPollState)
class FeedPollStateAdmin(admin.ModelAdmin):
    """Read-only: written by `manage.py poll_feed`. A last success long ago means the poller stalled."""

    list_display = (
        "channel",
        "poll_health",
        "last_success_at",
        "last_batch_size",
        "events_stored",
        "last_error_at",
        "poller",
    )
    list_select_related = ("channel",)
    readonly_fields = (
        "channel",
        "poll_health",
        "last_success_at",
        "last_batch_size",
        "events_stored",
        "last_error",
        "last_error_at",
        "poller",
        "updated_at",
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="feed poll")
    def poll_health(self, state: FeedPollState) -> str:
        health = feed_poll_health_get(channel=state.channel)
        if health is None:
            return "not polled (channel inactive or order download off)"
        if health.stale:
            return format_html(
                '<strong style="color:#ba2121">STALE</strong> <span title="{}">(over {}s)</span>',
                health.describe(),
                health.stale_after_seconds,
            )
        return format_html('<span style="color:#447e36">{}</span>', "ok")

    def changelist_view(self, request, extra_context=None):
        # A channel that never polled has no row here: the banner names every stale channel.
        stale = [poll for poll in feed_poll_staleness() if poll.stale]
        if stale:
            self.message_user(
                request,
                "Feed poll stale (no successful poll within FEED_STALE_AFTER_SECONDS; is `poll_feed` running?): "
                + "; ".join(poll.describe() for poll in stale),
                messages.ERROR,
            )
        return super().changelist_view(request, extra_context)


# django-rq's admin entry, behind its permission (RQ_SHOW_ADMIN_LINK is off, so django-rq does not register its own).
admin.site.register(Dashboard, RqDashboardAdmin)
