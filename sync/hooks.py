"""HTTP edge for VTEX's order hook (reference/vtex.md §1.8–1.9): authenticate, validate, store, answer.

The hook is the push alternative to the feed and feeds the same inbox. VTEX sends the custom header
of the hook configuration (``configure_feed --hook``) with every notification; without the channel's
secret in it the call is refused with 401, before the body is parsed. The body names who sent it:
``Origin.Account`` must be the channel's account (403) and ``Origin.Key`` the channel's app key, the
appKey that owns the hook (401; reference §1.9 says to check both plus the header). The answer must
come within 5 s, so nothing but the insert happens here; the import runs in a worker and re-reads the
order, as for feed events.

The ping VTEX sends when the hook is saved (§1.8) must get a 200, and whether it carries the custom
header is unconfirmed ("exact forwarding behaviour unconfirmed"). So a request *without* the header
is answered only if it is the ping (a body of at most ``HOOK_PING_MAX_BYTES``, the only body parsed
unauthenticated, storing nothing), and a request with a *wrong* header is refused even as a ping:
VTEX then refuses to save a hook whose notifications would all be refused (docs/inbound.md).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from mappings import selectors
from mappings.models import SalesChannel
from sync.models import InboxEvent
from sync.webhooks import (
    body_size_problem,
    channel_or_answer,
    error,
    json_object_of,
    post_only,
    read_json_object,
    store_or_answer,
)

# {"hookConfig": "ping"} is 22 bytes; room for whitespace and a field VTEX might add, no room for a
# body that could cost anything to parse.
HOOK_PING_MAX_BYTES = 256


@sensitive_variables("given", "expected")
def _secret_ok(given: str, channel: SalesChannel) -> bool:
    expected = channel.vtex_hook_secret or ""
    # Constant-time: the comparison must not tell an attacker how much of the secret was right.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _is_ping(body: bytes) -> bool:
    if len(body) > HOOK_PING_MAX_BYTES:
        return False
    payload, problem = json_object_of(body)
    return problem is None and payload.get("hookConfig") == "ping"


@sensitive_variables("given", "expected")
def _origin_key_ok(origin: dict, channel) -> bool:
    expected = channel.vtex_app_key or ""
    given = origin.get("Key")
    # Required, not "checked when present": a body without it would pass on the header alone.
    if not isinstance(given, str):
        return False
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@csrf_exempt
@post_only
def vtex_order_hook(request, channel_code: str):
    """POST /webhooks/vtex/<channel>/orders: a VTEX hook notification or its configuration ping."""
    channel, answer = channel_or_answer(selectors.sales_channel_get, code=channel_code)
    if answer:
        return answer
    if channel is None:
        return error(404, "Not found.")  # as every unrouted path under /webhooks/: nothing echoed
    # request.META, not request.headers: the secret's header is then looked up, not every header copied.
    given = request.META.get("HTTP_" + settings.VTEX_HOOK_SECRET_HEADER.upper().replace("-", "_"))
    if given is None and channel.vtex_hook_secret:
        too_large = body_size_problem(request)
        if too_large is None and _is_ping(request.body):
            return JsonResponse({"pong": True})  # VTEX saves the hook only if this answers 200; nothing stored
    if given is None or not _secret_ok(given, channel):
        return error(401, f"Unauthorized: missing or wrong {settings.VTEX_HOOK_SECRET_HEADER} header.")
    payload, problem = read_json_object(request)
    if problem:
        return problem
    if payload.get("hookConfig") == "ping":
        return JsonResponse({"pong": True})
    origin = payload.get("Origin") if isinstance(payload.get("Origin"), dict) else {}
    if origin.get("Account") != channel.vtex_account_name:
        return error(403, f"Origin.Account must be the channel's VTEX account ({channel.vtex_account_name}).")
    if not _origin_key_ok(origin, channel):
        return error(
            401, "Unauthorized: Origin.Key must be the channel's VTEX app key (the appKey that owns the hook)."
        )
    order_id, state = payload.get("OrderId"), payload.get("State")
    if not isinstance(order_id, str) or not order_id or "State" not in payload or not isinstance(state, str | None):
        return error(400, "Expected a VTEX hook notification: 'OrderId' (text) and 'State' are required.")
    current_change = payload.get("CurrentChange")
    # Duplicates are possible (§1.9); one status change is (OrderId, State, CurrentChange).
    dedup_key = f"vtex-hook:{order_id}:{state}:{current_change}"[:200] if current_change else None
    result, answer = store_or_answer(
        source=InboxEvent.Source.VTEX_HOOK,
        event=state or "(no status)",
        entity_id=order_id,
        payload=payload,
        channel=channel,
        dedup_key=dedup_key,
        # An order without status (incomplete) is answered 200: VTEX would retry a refusal 100 times.
        ignored_reason="" if state else "hook notification without a status",
    )
    if answer:
        return answer
    stored, created = result
    return JsonResponse({"accepted": True, "eventId": stored.pk, "duplicate": not created})
