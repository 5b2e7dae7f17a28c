"""The bulk runs' admin pages (``sync.bulk.admin.BulkRunAdmin`` routes to them and checks permissions first).

- the run page: what the run covers, its state and counts, a progress bar the page refreshes from
  ``bulk_run_progress_json`` without reloading, and the items worth showing (changed, failed, deferred,
  skipped; a dry run's planned calls; a reconciliation's differences by kind), paginated;
- starting: a form (``BulkRunStartForm``), then a confirmation page that says how many orders the run
  touches (``bulk_run_preview``), then ``bulk_run_start``;
- pause, resume and cancel (cancel asks first), and a reconciliation's repairs (one order, or every order
  with a repairable difference of one kind; asks first). Each is one service call; a refusal
  (``BulkRunRefused``) is a message on the run page, never an error page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from mappings.models import OrderLink
from sync.bulk.forms import BulkRunStartForm, kind_label
from sync.bulk.kinds import Preview, Scope, ScopeInvalid
from sync.bulk.models import BulkRun, BulkRunItem
from sync.bulk.reconcile import order_differences_repair
from sync.bulk.registry import KINDS
from sync.bulk.services import (
    BulkRunRefused,
    bulk_run_cancel,
    bulk_run_pause,
    bulk_run_preview,
    bulk_run_repairs_start,
    bulk_run_resume,
    bulk_run_start,
)
from sync.clients.errors import RemoteError
from sync.models import OrderSync
from sync.remotes import NotConfigured

logger = logging.getLogger(__name__)

ITEMS_PER_PAGE = 50
POLL_MS = 2000  # how often an open run page asks for its progress
SHOWN_ROWS = 100  # orders listed on a repair's confirmation page; the count is always complete
ENDED = (BulkRun.State.FINISHED, BulkRun.State.CANCELLED, BulkRun.State.FAILED)
STATE_COLOURS = {
    BulkRun.State.QUEUED: "#666666",
    BulkRun.State.RUNNING: "#205067",
    BulkRun.State.PAUSED: "#b25b00",
    BulkRun.State.CANCELLED: "#444444",
    BulkRun.State.FINISHED: "#2f7d32",
    BulkRun.State.FAILED: "#ba2121",
}
KIND_HELP = {
    BulkRun.Kind.ORDER_STATUS_INITIAL: (
        "Every ERP order of the channel in the scope goes through the normal order status sync (ERP → VTEX): "
        "VTEX gets the acknowledgment, invoices, tracking or cancellation it lacks."
    ),
    BulkRun.Kind.ORDER_BACKFILL: (
        "VTEX orders in the scope that have no order link yet are imported into VARIO ERP (VTEX → ERP), as the "
        "feed would have done."
    ),
    BulkRun.Kind.RECONCILIATION: (
        "Each linked order in the scope is read on both sides and compared; the differences are listed by kind. "
        "Nothing is written until you repair them from the run's page."
    ),
    BulkRun.Kind.STOCK_INITIAL: (
        "Every mapped SKU of the channel gets its stock per VTEX warehouse from the ERP, a page at a time through "
        "the normal stock push; only what VTEX was not last told is sent. Match the SKUs first."
    ),
    BulkRun.Kind.PRICE_INITIAL: (
        "Every mapped SKU of the channel gets its whole price from the ERP, a page at a time through the normal "
        "price push; only what VTEX was not last told is sent. Match the SKUs first."
    ),
    BulkRun.Kind.CATALOG_RECONCILIATION: (
        "Each mapped SKU's stock per warehouse and price are read in VTEX and compared with the ERP's; a real run "
        "sends the ERP's figures again where they differ, a dry run only lists the differences."
    ),
}
STATE_ACTIONS = {
    "pause": (
        bulk_run_pause,
        "Paused: the run stops after the order in hand and goes on from there when resumed.",
    ),
    "resume": (bulk_run_resume, "Resumed: the run goes on from where it stopped."),
    "cancel": (bulk_run_cancel, "Cancelled: the run stops after the order in hand; what was done stays done."),
}


# --- progress ------------------------------------------------------------------------------------------------


def run_progress(run: BulkRun, *, now: datetime) -> dict[str, Any]:
    """The run's counts with its share done, its rate (items per minute since it started, up to its end or,
    paused, its last progress) and, while it runs with a known total, the time left at that rate."""
    progress = run.progress
    percent = None if progress is None else int(progress * 100)
    rate = None
    if run.started_at is not None and run.done:
        if run.finished_at is not None:
            end = run.finished_at
        elif run.state == BulkRun.State.PAUSED:
            end = run.heartbeat_at or now
        else:
            end = now
        minutes = (end - run.started_at).total_seconds() / 60
        rate = run.done / minutes if minutes > 0 else None
    eta = None
    if run.state == BulkRun.State.RUNNING and run.total is not None and rate:
        eta = int(max(run.total - run.done, 0) / rate * 60)
    return {
        "id": run.pk,
        "state": run.state,
        "state_label": run.get_state_display(),
        "active": run.is_active,
        "total": run.total,
        **{name: getattr(run, name) for name in ("done", "changed", "unchanged", "failed", "skipped", "deferred")},
        "percent": percent,
        "percent_text": "" if percent is None else f"{percent} %",
        "rate_per_minute": None if rate is None else round(rate, 1),
        "rate_text": "—" if rate is None else f"{rate:.1f} per minute",
        "eta_seconds": eta,
        "eta_text": _eta_text(run, eta),
        "message": run.message,
    }


def _eta_text(run: BulkRun, eta: int | None) -> str:
    if run.state in ENDED:
        return "ended"
    if run.state == BulkRun.State.PAUSED:
        return "paused"
    if eta is None:
        return "not known yet"
    if eta < 60:
        return f"about {eta} s"
    if eta < 3600:
        return f"about {round(eta / 60)} min"
    return f"about {eta // 3600} h {round(eta % 3600 / 60)} min"


def bulk_run_progress_json(*, run: BulkRun) -> JsonResponse:
    response = JsonResponse(run_progress(run, now=timezone.now()))
    response["Cache-Control"] = "no-store"
    return response


# --- the run page --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DifferenceSummary:
    kind: str
    label: str
    orders: int  # items of the run with a difference of this kind
    repairable: int  # of them, those a repair would fix (a repairable difference of this kind, an order link)


def difference_label(kind: str) -> str:
    return kind.replace("_", " ").capitalize() or "(no kind)"


def _differences(item_differences: Any) -> list[dict]:
    """A stored item's differences, each a dict (anything else in the JSON is not shown)."""
    return [d for d in item_differences or () if isinstance(d, dict)] if isinstance(item_differences, list) else []


def difference_summary(run: BulkRun) -> list[DifferenceSummary]:
    """Each kind of difference the run found, with how many orders have it and how many a repair fixes;
    one pass over the items with differences, in chunks (a large run keeps thousands)."""
    orders: dict[str, int] = {}
    repairable: dict[str, int] = {}
    rows = run.items.exclude(difference_kinds="").values_list("differences", "order_link_id")
    for differences, link_id in rows.iterator(chunk_size=500):
        seen, fixable = set(), set()
        for difference in _differences(differences):
            kind = str(difference.get("kind") or "")
            seen.add(kind)
            if difference.get("repairable") is True and link_id is not None:
                fixable.add(kind)
        for kind in seen:
            orders[kind] = orders.get(kind, 0) + 1
        for kind in fixable:
            repairable[kind] = repairable.get(kind, 0) + 1
    summaries = [DifferenceSummary(k, difference_label(k), n, repairable.get(k, 0)) for k, n in orders.items()]
    return sorted(summaries, key=lambda s: (-s.orders, s.kind))


def _repairable(item: BulkRunItem, *, kind: str = "") -> bool:
    return item.order_link_id is not None and any(
        d.get("repairable") is True and (not kind or d.get("kind") == kind) for d in _differences(item.differences)
    )


def repair_targets(run: BulkRun, *, kind: str = "", item_id: int | None = None) -> list[BulkRunItem]:
    """The run's items a repair acts on: one item, or every item with a repairable difference of ``kind``;
    only those with an order link and a difference a repair fixes."""
    items = run.items.filter(order_link__isnull=False).select_related("order_link", "order_link__channel")
    if item_id is not None:
        items = items.filter(pk=item_id)
    if kind:
        items = items.filter(difference_kinds__contains=f" {kind} ")
    return [item for item in items.order_by("id") if _repairable(item, kind=kind)]


def call_shown(number: int, call: dict) -> dict:
    """One planned call of a dry run as the page shows it: its body as indented JSON."""
    body = call.get("body")
    return {
        "number": number,
        "remote": str(call.get("remote") or "").upper(),
        "method": str(call.get("method") or ""),
        "path": str(call.get("path") or ""),
        "body": "" if body is None else json.dumps(body, indent=2, ensure_ascii=False),
    }


def _item_row(item: BulkRunItem, *, difference: str) -> dict:
    calls = item.calls if isinstance(item.calls, list) else []
    return {
        "item": item,
        "calls": [call_shown(n, c) for n, c in enumerate((c for c in calls if isinstance(c, dict)), start=1)],
        "differences": [
            {**d, "label": difference_label(str(d.get("kind") or ""))}
            for d in _differences(item.differences)
            if not difference or d.get("kind") == difference
        ],
        "repairable": _repairable(item),
    }


def _query(request: HttpRequest, **changes: str) -> str:
    """The page's query string with ``changes`` (an empty value drops the parameter); a new filter starts
    again on page 1."""
    params = {k: v for k, v in request.GET.items() if k in ("outcome", "difference", "page")}
    params.pop("page", None)
    params.update(changes)
    return "?" + urlencode({k: v for k, v in params.items() if v})


def _scope_text(run: BulkRun) -> str:
    try:
        return Scope.of(run.scope).describe()
    except (ScopeInvalid, TypeError, AttributeError):
        return json.dumps(run.scope, ensure_ascii=False)  # not as the service writes it: shown as stored


def bulk_run_page(*, model_admin: admin.ModelAdmin, request: HttpRequest, run: BulkRun) -> TemplateResponse:
    """The run page.

    1. The run: what it covers, who started it, its state, counts and progress (refreshed by the page's
       script from the progress view while the run is active).
    2. For a reconciliation, its differences by kind, with a repair for each kind.
    3. The items, filtered by outcome or kind of difference (unknown values are ignored), paginated.
    4. The buttons that apply now, for who may use them.
    """
    may_start = model_admin.has_start_permission(request)
    summaries = difference_summary(run) if run.kind == BulkRun.Kind.RECONCILIATION else []  # 2.
    outcome = request.GET.get("outcome", "")  # 3.
    if outcome not in BulkRunItem.Outcome.values:
        outcome = ""
    difference = request.GET.get("difference", "")
    if difference not in {s.kind for s in summaries}:
        difference = ""
    items = run.items.select_related("order_link", "order_sync").order_by("id")
    if outcome:
        items = items.filter(outcome=outcome)
    if difference:
        items = items.filter(difference_kinds__contains=f" {difference} ")
    page = Paginator(items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    counts = dict(run.items.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n"))
    outcome_links = [
        {"label": "All", "count": sum(counts.values()), "url": _query(request, outcome=""), "selected": not outcome}
    ] + [
        {"label": label, "count": counts[value], "url": _query(request, outcome=value), "selected": value == outcome}
        for value, label in BulkRunItem.Outcome.choices
        if counts.get(value)
    ]
    opts = model_admin.opts
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "original": run,
        "run": run,
        "title": f"Bulk run #{run.pk}",
        "subtitle": str(run),
        "kind_label": kind_label(run.kind),
        "kind_help": KIND_HELP.get(run.kind, ""),
        "scope_text": _scope_text(run),
        "progress": run_progress(run, now=timezone.now()),  # 1.
        "state_colour": STATE_COLOURS.get(run.state, "#666666"),
        "poll_ms": POLL_MS,
        "summaries": summaries,
        "difference": difference,
        "difference_label": difference_label(difference) if difference else "",
        "difference_links": [
            {"summary": s, "url": _query(request, difference=s.kind), "selected": s.kind == difference}
            for s in summaries
        ],
        "all_differences_url": _query(request, difference=""),
        "outcome": outcome,
        "outcome_links": outcome_links,
        "page_obj": page,
        "rows": [_item_row(item, difference=difference) for item in page],
        "page_query": _query(request),
        "can_pause": may_start and run.state in (BulkRun.State.QUEUED, BulkRun.State.RUNNING),  # 4.
        "can_resume": may_start and run.state == BulkRun.State.PAUSED,
        "can_cancel": may_start and run.is_active,
        "can_repair": may_start and run.kind == BulkRun.Kind.RECONCILIATION,
        "has_delete_permission": model_admin.has_delete_permission(request, run),
        "channel_url": _admin_url(model_admin, request, run.channel),
        "can_view_order_links": _may_view(model_admin, request, OrderLink),
        "can_view_order_syncs": _may_view(model_admin, request, OrderSync),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/bulk/bulkrun/run.html", context)


def _admin_url(model_admin: admin.ModelAdmin, request: HttpRequest, obj: Any) -> str:
    """The object's admin page, when the site has one and the user may open it."""
    site = model_admin.admin_site
    if not site.is_registered(type(obj)):
        return ""
    if not site.get_model_admin(type(obj)).has_view_or_change_permission(request, obj):
        return ""
    opts = obj._meta
    return reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def _may_view(model_admin: admin.ModelAdmin, request: HttpRequest, model: type) -> bool:
    site = model_admin.admin_site
    return site.is_registered(model) and site.get_model_admin(model).has_view_or_change_permission(request)


# --- starting ------------------------------------------------------------------------------------------------


def _initial(query: Any) -> dict:
    """The form's first values from the link that opened it (the channel page's "Start a bulk run…")."""
    initial: dict[str, Any] = {}
    channel = query.get("channel", "")
    if channel.isascii() and channel.isdigit() and len(channel) < 12:
        initial["channel"] = int(channel)
    if query.get("kind", "") in KINDS:
        initial["kind"] = query["kind"]
    return initial


def _preview(form: BulkRunStartForm) -> tuple[Preview | None, str]:
    """What the confirmation page says about the run's size, or why it could not be counted. Counting is
    advice, not a condition: whatever goes wrong, the run can still be started or not."""
    data = form.cleaned_data
    try:
        return bulk_run_preview(channel=data["channel"], kind=data["kind"], scope=data["scope"]), ""
    except (RemoteError, NotConfigured) as exc:
        return None, f"{type(exc).__name__}: {exc}".rstrip(".")
    except ScopeInvalid:
        raise
    except Exception as exc:  # a bug in a kind's count must not keep a person from starting or not
        logger.exception("bulk run preview of %s on %s failed", data["kind"], data["channel"].code)
        return None, f"Unexpected error: {type(exc).__name__} (details in the portal's log)"


def bulk_run_start_page(*, model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Starting a run, in three steps, each a POST of the same form.

    1. The form (GET; or a POST with ``edit`` to change what was entered): channel, kind, scope, dry run.
    2. Valid, the confirmation page: the run's size from ``bulk_run_preview`` (a remote's error while
       counting is shown, and the run can still be started), the form carried in hidden fields.
    3. Confirmed (``confirmed=yes``), the form is checked again and ``bulk_run_start`` stores the run;
       the browser goes to its page. A refusal (a run of that kind is active) is shown on the form.
    """
    opts = model_admin.opts
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": "Start a bulk run",
        "kind_help": [(kind_label(key), KIND_HELP.get(key, "")) for key in KINDS],
    }
    request.current_app = model_admin.admin_site.name
    if request.method != "POST":  # 1.
        context["form"] = BulkRunStartForm(initial=_initial(request.GET))
        return TemplateResponse(request, "admin/bulk/bulkrun/start.html", context)
    form = BulkRunStartForm(request.POST)
    context["form"] = form
    if not form.is_valid() or request.POST.get("edit"):
        return TemplateResponse(request, "admin/bulk/bulkrun/start.html", context)
    data = form.cleaned_data
    if request.POST.get("confirmed") != "yes":  # 2.
        try:
            preview, problem = _preview(form)
        except ScopeInvalid as exc:
            form.add_error(None, str(exc))
            return TemplateResponse(request, "admin/bulk/bulkrun/start.html", context)
        context.update(
            {
                "title": "Start this bulk run?",
                "channel": data["channel"],
                "kind_label": kind_label(data["kind"]),
                "scope_text": KINDS[data["kind"]].scope_clean(data["scope"]).describe(),
                "dry_run": data["dry_run"],
                "preview": preview,
                "preview_problem": problem,
            }
        )
        return TemplateResponse(request, "admin/bulk/bulkrun/start_confirm.html", context)
    try:  # 3.
        run = bulk_run_start(
            channel=data["channel"],
            kind=data["kind"],
            scope=data["scope"],
            dry_run=data["dry_run"],
            started_by=request.user.get_username(),
        )
    except (ScopeInvalid, BulkRunRefused) as exc:
        form.add_error(None, f"Not started: {exc}.")
        context["active_run"] = BulkRun.objects.filter(
            channel=data["channel"], kind=data["kind"], state__in=BulkRun.ACTIVE
        ).first()
        return TemplateResponse(request, "admin/bulk/bulkrun/start.html", context)
    model_admin.log_addition(request, run, f"Started: {KINDS[run.kind].scope_clean(data['scope']).describe()}")
    messages.success(request, f"Bulk run #{run.pk} started.")
    return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[run.pk]))


# --- pause, resume, cancel -----------------------------------------------------------------------------------


def _back(model_admin: admin.ModelAdmin, run: BulkRun, query: str = "") -> HttpResponseRedirect:
    opts = model_admin.opts
    return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[run.pk]) + query)


def bulk_run_state_change(
    *, model_admin: admin.ModelAdmin, request: HttpRequest, run: BulkRun, action: str
) -> HttpResponse:
    """Pause, resume or cancel (``action``); cancelling an active run asks first (``post=yes`` confirms).
    A run that is no longer in a state the action applies to is a message, not an error."""
    service, done = STATE_ACTIONS[action]
    if action == "cancel" and run.is_active and request.POST.get("post") != "yes":
        context = {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "original": run,
            "run": run,
            "title": f"Cancel bulk run #{run.pk}?",
            "left": None if run.total is None else max(run.total - run.done, 0),
        }
        request.current_app = model_admin.admin_site.name
        return TemplateResponse(request, "admin/bulk/bulkrun/cancel_confirm.html", context)
    try:
        service(run=run)
    except BulkRunRefused as exc:
        messages.error(request, f"Could not {action} it: {exc}.")
    else:
        model_admin.log_change(request, run, f"{action.capitalize()}d." if action != "resume" else "Resumed.")
        messages.success(request, done)
    return _back(model_admin, run)


# --- repairs (reconciliation) --------------------------------------------------------------------------------


def bulk_run_repair(*, model_admin: admin.ModelAdmin, request: HttpRequest, run: BulkRun) -> HttpResponse:
    """Repair one order (``item``) or every order with a repairable difference of one kind (``kind``).

    1. Check the request: a reconciliation, an item of this run or a kind it found.
    2. The orders a repair acts on (``repair_targets``); none: a message.
    3. Not confirmed yet: a page that says how many orders will be synced, and lists them.
    4. Confirmed (``post=yes``): one order goes through its normal sync (``order_differences_repair``);
       every order of a kind through a real reconciliation run of just those orders
       (``bulk_run_repairs_start``: the bulk lane, a progress bar), whose page the browser goes to.
    """
    if run.kind != BulkRun.Kind.RECONCILIATION:  # 1.
        messages.error(request, "Only a reconciliation's differences can be repaired.")
        return _back(model_admin, run)
    item_id, kind = request.POST.get("item", ""), request.POST.get("kind", "")
    if item_id:
        if not (item_id.isascii() and item_id.isdigit() and len(item_id) < 19):
            messages.error(request, "No such order in this run.")
            return _back(model_admin, run)
        targets = repair_targets(run, item_id=int(item_id))  # 2.
        what = f"order {targets[0].label or targets[0].key}" if targets else "the order"
    elif kind:
        targets = repair_targets(run, kind=kind) if len(kind) <= 100 else []
        what = f"every order with a repairable difference of kind “{difference_label(kind)}”"
    else:
        messages.error(request, "Choose an order or a kind of difference to repair.")
        return _back(model_admin, run)
    back_query = _query(request, difference=kind) if kind else ""
    if not targets:
        messages.warning(request, f"Nothing to repair: no repairable difference for {what} in this run.")
        return _back(model_admin, run)
    if request.POST.get("post") != "yes":  # 3.
        context = {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "original": run,
            "run": run,
            "title": "Repair differences?",
            "what": what,
            "count": len(targets),
            "noun": ngettext("order", "orders", len(targets)),
            "rows": targets[:SHOWN_ROWS],
            "more": max(len(targets) - SHOWN_ROWS, 0),
            "item_id": item_id,
            "kind": kind,
        }
        request.current_app = model_admin.admin_site.name
        return TemplateResponse(request, "admin/bulk/bulkrun/repair_confirm.html", context)
    if kind:  # 4. Many orders: a real reconciliation of just those, in the bulk lane, with its progress
        try:
            repair = bulk_run_repairs_start(run=run, items=targets, actor=request.user.get_username())
        except (BulkRunRefused, ScopeInvalid) as exc:
            messages.error(request, f"Not started: {exc}.")
            return _back(model_admin, run, back_query)
        model_admin.log_change(request, run, f"Repair run #{repair.pk} started for {len(targets)} order(s): {what}.")
        messages.success(request, f"Repair run #{repair.pk} started for {len(targets)} order(s).")
        return HttpResponseRedirect(reverse(f"{model_admin.admin_site.name}:bulk_bulkrun_change", args=[repair.pk]))
    repaired, problems = _repair(targets, actor=request.user.get_username())  # 4. One order: its normal sync
    model_admin.log_change(request, run, f"Repair requested for {len(repaired)} order(s): {what}.")
    if repaired:
        messages.success(
            request,
            ngettext("%d order queued for a sync.", "%d orders queued for a sync.", len(repaired)) % len(repaired),
        )
    for problem in problems:
        messages.warning(request, problem)
    return _back(model_admin, run, back_query)


def _repair(items: Iterable[BulkRunItem], *, actor: str) -> tuple[list[int], list[str]]:
    repaired, problems = [], []
    for item in items:
        try:
            order_differences_repair(order_link=item.order_link, actor=actor)
        except ValueError as exc:  # the order link has no ERP order: nothing to sync from
            problems.append(f"{item.label or item.key}: {exc}")
            continue
        repaired.append(item.pk)
    BulkRunItem.objects.filter(pk__in=repaired).update(repaired_at=timezone.now())
    return repaired, problems
