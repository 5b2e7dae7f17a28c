"""Bulk runs in the admin: the list, the run page, starting, pausing, resuming, cancelling and repairing.

Runs are never added or edited through the stock forms: a run is started through its own flow
(``sync.bulk.views.bulk_run_start_page``) and then changed only by its steps and the state buttons.
Starting, pausing, resuming, cancelling and repairing need the model's custom permission
``bulk.start_bulkrun``; watching needs the view permission; deleting needs the delete permission and an
ended run (an active one is still being worked on). The pages themselves are in ``sync.bulk.views``.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from mappings.models import SalesChannel
from sync.bulk import views
from sync.bulk.models import BulkRun, BulkRunItem

START_PERMISSION = "bulk.start_bulkrun"


@admin.register(BulkRun)
class BulkRunAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "kind",
        "channel",
        "dry_run",
        "state_badge",
        "progress_bar",
        "changed",
        "failed",
        "started_by",
        "created_at",
    )
    list_display_links = ("number",)
    list_filter = ("channel", "kind", "state", "dry_run", "started_by")
    list_select_related = ("channel",)
    search_fields = ("started_by", "message")
    ordering = ("-created_at", "-id")  # newest first
    change_list_template = "admin/bulk/bulkrun/change_list.html"

    # --- permissions --------------------------------------------------------------------------------------

    def has_add_permission(self, request) -> bool:
        return False  # started through the start flow: "Start a bulk run…"

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a run's fields are its steps' to write; its state changes through the buttons

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or not obj.is_active)

    def has_start_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(START_PERMISSION)

    def may_start_on_channels(self, request) -> bool:
        channels = self.admin_site.get_model_admin(SalesChannel)
        return self.has_start_permission(request) and channels.has_view_or_change_permission(request)

    def get_deleted_objects(self, objs, request):
        """What deleting runs takes with it, summarised (a run keeps up to thousands of items, which Django
        would list one by one), and the active runs among them as protected: cancel those first."""
        runs = list(objs)
        ended = [run for run in runs if not run.is_active]
        items = BulkRunItem.objects.filter(run__in=ended).count()
        deleted: list = [str(run) for run in ended]
        counts = {BulkRun._meta.verbose_name_plural: len(ended)}
        if items:
            deleted.append(f"{items} item(s) of these runs (what changed, failed, was deferred or planned)")
            counts[BulkRunItem._meta.verbose_name_plural] = items
        protected = [f"{run} is {run.get_state_display().lower()}: cancel it first" for run in runs if run.is_active]
        perms_needed = set() if super().has_delete_permission(request) else {BulkRun._meta.verbose_name}
        return deleted, counts, perms_needed, protected

    # --- the list -----------------------------------------------------------------------------------------

    @admin.display(description="run", ordering="id")
    def number(self, run: BulkRun) -> str:
        return f"#{run.pk}"

    @admin.display(description="state", ordering="state")
    def state_badge(self, run: BulkRun) -> str:
        return format_html(
            '<span class="bulk-state" style="background:{}">{}</span>',
            views.STATE_COLOURS.get(run.state, "#666666"),
            run.get_state_display(),
        )

    @admin.display(description="progress")
    def progress_bar(self, run: BulkRun) -> str:
        percent = None if run.progress is None else int(run.progress * 100)
        total = "?" if run.total is None else run.total
        return format_html(
            '<span class="bulk-progress" title="{}"><span class="bulk-progress-bar" style="width:{}%;background:{}">'
            '</span></span> <span class="bulk-progress-count">{} / {}</span>',
            "total not known yet" if percent is None else f"{percent} %",
            percent or 0,
            views.STATE_COLOURS.get(run.state, "#666666"),
            run.done,
            total,
        )

    def changelist_view(self, request, extra_context=None):
        context = {**(extra_context or {}), "can_start": self.may_start_on_channels(request)}
        return super().changelist_view(request, context)

    # --- the run page and its views -----------------------------------------------------------------------

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"

        def route(pattern: str, view, name: str):
            return path(pattern, self.admin_site.admin_view(view), name=f"{info}_{name}")

        return [
            route("start/", self.start_view, "start"),
            route("<path:object_id>/progress/", self.progress_view, "progress"),
            route("<path:object_id>/pause/", self.pause_view, "pause"),
            route("<path:object_id>/resume/", self.resume_view, "resume"),
            route("<path:object_id>/cancel/", self.cancel_view, "cancel"),
            route("<path:object_id>/repair/", self.repair_view, "repair"),
            *super().get_urls(),
        ]

    def _run(self, request, object_id: str) -> BulkRun:
        run = self.get_object(request, unquote(object_id))
        if run is None:
            raise Http404(f"No bulk run with id {object_id!r}.")
        return run

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The run page (read-only: nothing on it is a form field)."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        run = self.get_object(request, unquote(object_id))
        if run is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, run):
            raise PermissionDenied
        return views.bulk_run_page(model_admin=self, request=request, run=run)

    def progress_view(self, request, object_id):
        """The run's progress as JSON, for the run page's script; what the run page shows, so the same
        permission."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        run = self._run(request, object_id)
        if not self.has_view_or_change_permission(request, run):
            raise PermissionDenied
        return views.bulk_run_progress_json(run=run)

    def start_view(self, request):
        if not self.may_start_on_channels(request):
            raise PermissionDenied
        return views.bulk_run_start_page(model_admin=self, request=request)

    def _state_change(self, request, object_id, action: str):
        if not self.has_start_permission(request):
            raise PermissionDenied
        run = self._run(request, object_id)
        return views.bulk_run_state_change(model_admin=self, request=request, run=run, action=action)

    @method_decorator(require_POST)
    def pause_view(self, request, object_id):
        return self._state_change(request, object_id, "pause")

    @method_decorator(require_POST)
    def resume_view(self, request, object_id):
        return self._state_change(request, object_id, "resume")

    @method_decorator(require_POST)
    def cancel_view(self, request, object_id):
        return self._state_change(request, object_id, "cancel")

    @method_decorator(require_POST)
    def repair_view(self, request, object_id):
        if not self.has_start_permission(request):
            raise PermissionDenied
        run = self._run(request, object_id)
        return views.bulk_run_repair(model_admin=self, request=request, run=run)
