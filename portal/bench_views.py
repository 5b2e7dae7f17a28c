"""A bare Django JSON view: the baseline of the webhook-ingest benchmark (bench/ingest.py).

Routed only when ``settings.BENCH_VIEWS`` is true (``BENCH_VIEWS=1``); never on in production. It
goes through the same middleware as the webhook and parses the same body, but stores nothing,
checks no token and enqueues nothing, so the ratio of the two shows what the webhook's own work costs.
"""

from __future__ import annotations

import json

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def bare_json(request, event: str):
    try:
        payload = json.loads(request.body or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return JsonResponse({"error": f"Body is not valid JSON: {exc}"}, status=400)
    return JsonResponse({"accepted": True, "event": event, "keys": len(payload) if isinstance(payload, dict) else 0})


urlpatterns = [path("bare/<str:event>", bare_json, name="bench-bare-json")]
