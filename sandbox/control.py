"""The control API under /_sim/ (part of neither remote's contract): reset, log, faults, clock."""

from __future__ import annotations

from django.apps import apps
from django.db import transaction
from django.forms.models import model_to_dict
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox import clock
from sandbox.deliveries import deliveries_dispatch_due
from sandbox.http import InvalidJson, QueryParamError, int_query_param, json_body, json_response
from sandbox.limits import holds, rules, windows
from sandbox.models import Delivery, FaultKind, FaultRule, RateLimitRule, Remote, RequestLogEntry
from sandbox.registry import seeders
from sandbox.routers import SANDBOX_APP_LABELS, SANDBOX_DB

# Ids are SQLite's (and PostgreSQL's bigint) 64-bit integers: a larger sinceId overflowed into a 500.
REQUEST_LOG_ID_MAX = 2**63 - 1


def control_error(message: str, status: int = 400):
    return json_response({"error": message}, status=status)


def sandbox_reset() -> None:
    """Empty every simulator table, then let each simulator seed its initial state."""
    with transaction.atomic(using=SANDBOX_DB):
        for model in apps.get_models():
            if model._meta.app_label in SANDBOX_APP_LABELS:
                model.objects.all().delete()
    clock.forget()
    windows.clear()
    rules.clear()  # also when a test rolled back rules it had created: no signal tells of a rollback
    holds.release()
    for seed in seeders():
        seed()


@csrf_exempt
@require_http_methods(["POST"])
def reset(request):
    sandbox_reset()
    return json_response({"reset": True})


def _entry(entry: RequestLogEntry) -> dict:
    return {
        "id": entry.id,
        "remote": entry.remote,
        "method": entry.method,
        "path": entry.path,
        "query": entry.query,
        "requestHeaders": entry.request_headers,
        "requestBody": entry.request_body,
        "status": entry.status,
        "responseHeaders": entry.response_headers,
        "responseBody": entry.response_body,
        "durationMs": round(entry.duration_ms, 3),
        "fault": entry.fault,
        "at": entry.created_at.isoformat(),
    }


@csrf_exempt
@require_http_methods(["GET", "DELETE"])
def request_log(request):
    """GET ?remote=vtex&method=POST&path=/invoice&sinceId=10&limit=500 ; DELETE empties the log."""
    if request.method == "DELETE":
        RequestLogEntry.objects.all().delete()
        return json_response({"deleted": True})
    entries = RequestLogEntry.objects.all()
    params = request.GET
    if params.get("remote"):
        entries = entries.filter(remote=params["remote"])
    if params.get("method"):
        entries = entries.filter(method=params["method"].upper())
    if params.get("path"):
        entries = entries.filter(path__contains=params["path"])
    try:
        if params.get("status"):
            # 0: a request a "hang" fault held is logged on arrival with status 0 (it never got one).
            status = int_query_param(params, "status", default=0, minimum=0, maximum=599)
            if 0 < status < 100:
                raise QueryParamError(f"status must be 0 (no answer) or from 100 to 599, got {params['status'][:40]!r}")
            entries = entries.filter(status=status)
        if params.get("sinceId"):
            since = int_query_param(params, "sinceId", default=0, minimum=0, maximum=REQUEST_LOG_ID_MAX)
            entries = entries.filter(id__gt=since)
        limit = int_query_param(params, "limit", default=1000, minimum=1, maximum=10000)
    except QueryParamError as exc:
        return control_error(str(exc))
    return json_response([_entry(e) for e in entries[:limit]])


FAULT_FIELDS = {
    "remote",
    "method",
    "path_pattern",
    "kind",
    "status_code",
    "retry_after",
    "latency_ms",
    "body",
    "remaining",
}
CAMEL = {
    "pathPattern": "path_pattern",
    "statusCode": "status_code",
    "retryAfter": "retry_after",
    "latencyMs": "latency_ms",
    "windowSeconds": "window_seconds",
}


def _snake(data: dict) -> dict:
    return {CAMEL.get(k, k): v for k, v in data.items()}


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def faults(request):
    """POST {"remote": "vtex", "method": "POST", "pathPattern": "/invoice$", "kind": "status",
    "statusCode": 429, "retryAfter": 2, "remaining": 3}  — or kind "latency"/"timeout"/"hang" with latencyMs.
    DELETE also releases the requests a hang rule holds."""
    if request.method == "DELETE":
        FaultRule.objects.all().delete()
        holds.release()
        return json_response({"deleted": True})
    if request.method == "POST":
        try:
            data = _snake(json_body(request))
        except InvalidJson as exc:
            return control_error(str(exc))
        unknown = set(data) - FAULT_FIELDS
        if unknown:
            return control_error(f"Unknown fault fields: {', '.join(sorted(unknown))}")
        if data.get("kind") not in FaultKind.values:
            return control_error(f"kind must be one of {', '.join(FaultKind.values)}")
        if data.get("remote", Remote.ANY) not in (Remote.VTEX, Remote.VARIO, Remote.ANY):
            return control_error("remote must be vtex, vario or any")
        rule = FaultRule.objects.create(**data)
        return json_response(model_to_dict(rule), status=201)
    return json_response([model_to_dict(r) for r in FaultRule.objects.all()])


@csrf_exempt
@require_http_methods(["GET", "POST", "DELETE"])
def rate_limits(request):
    """POST {"remote": "vtex", "pathPattern": "/invoice", "limit": 10, "windowSeconds": 1, "name": "..."}"""
    if request.method == "DELETE":
        RateLimitRule.objects.all().delete()
        windows.clear()
        return json_response({"deleted": True})
    if request.method == "POST":
        try:
            data = _snake(json_body(request))
        except InvalidJson as exc:
            return control_error(str(exc))
        if data.get("remote") not in (Remote.VTEX, Remote.VARIO):
            return control_error("remote must be vtex or vario")
        if not isinstance(data.get("limit"), int) or data["limit"] < 1:
            return control_error("limit must be a positive integer")
        if not isinstance(data.get("window_seconds"), int | float) or data["window_seconds"] <= 0:
            return control_error("windowSeconds must be a positive number")
        allowed = {"remote", "method", "path_pattern", "limit", "window_seconds", "name"}
        rule = RateLimitRule.objects.create(**{k: v for k, v in data.items() if k in allowed})
        return json_response(model_to_dict(rule), status=201)
    return json_response([model_to_dict(r) for r in RateLimitRule.objects.all()])


@csrf_exempt
@require_http_methods(["GET", "POST"])
def clock_view(request):
    """POST {"advanceSeconds": 345600} or {"offsetSeconds": 0}."""
    if request.method == "POST":
        try:
            data = json_body(request)
        except InvalidJson as exc:
            return control_error(str(exc))
        if "advanceSeconds" in data:
            clock.advance(float(data["advanceSeconds"]))
        elif "offsetSeconds" in data:
            clock.set_offset(float(data["offsetSeconds"]))
        else:
            return control_error("Give advanceSeconds or offsetSeconds.")
    return json_response({"now": clock.now().isoformat(), "offsetSeconds": clock.offset_seconds()})


def _delivery(d: Delivery) -> dict:
    return {
        "id": d.id,
        "kind": d.kind,
        "event": d.event,
        "url": d.url,
        "body": d.body,
        "state": d.state,
        "sentAttempts": d.attempts,
        "lastStatus": d.last_status,
        "lastResponse": d.last_response,
        "lastError": d.last_error,
        "nextAttemptAt": d.next_attempt_at.isoformat(),
        "createdAt": d.created_at.isoformat(),
        "sentAt": d.sent_at.isoformat() if d.sent_at else None,
    }


@csrf_exempt
@require_http_methods(["GET"])
def deliveries(request):
    """GET ?kind=vario_webhook&state=SENT&event=... — every outbound call and its outcome."""
    rows = Delivery.objects.all()
    for param, field in (("kind", "kind"), ("state", "state"), ("event", "event")):
        if request.GET.get(param):
            rows = rows.filter(**{field: request.GET[param]})
    return json_response([_delivery(d) for d in rows])


@csrf_exempt
@require_http_methods(["POST"])
def dispatch(request):
    """Send every due delivery now (tests use it instead of waiting for the background loop)."""
    return json_response({"attempted": deliveries_dispatch_due()})
