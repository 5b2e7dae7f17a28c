"""The SKU mapping list with what needs VTEX's Catalog: "match now" for the selected articles or their whole
channels, and each article's catalog timeline and work on its page (mappings.admin keeps the rest: it may call
no remote). Registered over ``mappings.admin.SkuMappingAdmin``, as ``sync.admin`` does for order links."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from mappings.admin import SkuMappingAdmin
from mappings.models import SkuMapping
from sync.catalog.intake import catalog_work_request
from sync.catalog.models import CatalogTimelineEntry, CatalogWork
from sync.catalog.timeline import Kind, catalog_timeline_add
from sync.queue import sku_mappings_match_enqueue

TIMELINE_SHOWN = 50

admin.site.unregister(SkuMapping)


@admin.register(SkuMapping)
class SkuMappingWithMatchingAdmin(SkuMappingAdmin):
    actions = (*(SkuMappingAdmin.actions or ()), "match_now", "match_channels")
    readonly_fields = (*SkuMappingAdmin.readonly_fields, "catalog_work", "catalog_timeline")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return (*fields, "catalog_work", "catalog_timeline") if obj is not None else fields

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

    @admin.display(description="stock and price work")
    def catalog_work(self, obj: SkuMapping) -> str:
        work = CatalogWork.objects.filter(channel_id=obj.channel_id, vario_article_id=obj.vario_article_id)
        rows = [
            (w.get_topic_display(), w.get_state_display(), w.reason or "—", w.message or "—", w.updated_at)
            for w in work.order_by("topic")
        ]
        if not rows:
            return "—"
        return format_html(
            "<table><tr><th>topic</th><th>state</th><th>reason</th><th>message</th><th>updated</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description="timeline (newest first)")
    def catalog_timeline(self, obj: SkuMapping) -> str:
        entries = CatalogTimelineEntry.objects.filter(
            channel_id=obj.channel_id, vario_article_id=obj.vario_article_id
        ).order_by("-created_at", "-id")[:TIMELINE_SHOWN]
        rows = [
            (
                e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                e.get_kind_display(),
                e.title,
                f"{e.duration_ms:.0f} ms" if e.duration_ms is not None else "",
                e.detail[:300],
            )
            for e in entries
        ]
        if not rows:
            return "—"
        return format_html(
            "<table><tr><th>when</th><th>kind</th><th>what</th><th>took</th><th>detail</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )
