"""HTTP edges only: authenticate, validate, store, answer. Work happens in jobs (design §2.1, §2.8).

VARIO calls carry ``Authorization: Bearer <app token>``, a JWT signed HS256 with the app's client
secret, with ``aud`` = the app identifier and ``exp`` (reference/vario-erp.md §1.3, §4.4). A 200 is
sent only once the event is committed; the database being down answers 503 so VARIO retries.
"""

from __future__ import annotations

import json
import logging
import time

import jwt
from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from mappings.models import ChannelKind, SalesChannel
from sync.inbox import VARIO_EVENTS, InboxEventInvalid, inbox_event_store
from sync.models import InboxEvent

logger = logging.getLogger(__name__)
ID_KEYS = ("id", "entityId")

# App tokens already verified, until their exp. VARIO sends one token with many calls and checking
# the signature again costs more than storing the event. The key holds the secret and audience too,
# so a changed setting never reuses a verdict; dict lookups hash with a per-process random key, so
# they leak no timing a forger could use.
_verified_tokens: dict[tuple[str, str, str], float] = {}
VERIFIED_TOKENS_MAX = 256


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@sensitive_variables("token", "secret", "key")
def vario_token_problem(request) -> str | None:
    """Why the request's app token is not acceptable, or None when it is."""
    header = request.META.get("HTTP_AUTHORIZATION", "")  # not request.headers: it copies every header
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():  # the scheme is case-insensitive (RFC 6750 §2.1)
        return "missing bearer token"
    token = token.strip()
    secret = settings.VARIO_CLIENT_SECRET
    if not secret or not settings.VARIO_APP_IDENTIFIER:
        return "the portal has no VARIO client secret / app identifier configured"
    key = (token, secret, settings.VARIO_APP_IDENTIFIER)
    expires_at = _verified_tokens.get(key)
    if expires_at is not None:
        if time.time() < expires_at:
            return None
        _verified_tokens.pop(key, None)
        return "token expired"
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=settings.VARIO_APP_IDENTIFIER,
            options={"require": ["exp", "aud"]},
            # For iat/nbf: a VARIO clock a little ahead must not refuse every delivery (exp: below).
            leeway=settings.VARIO_TOKEN_CLOCK_LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        return "token expired"
    except jwt.InvalidTokenError as exc:
        return f"invalid token ({type(exc).__name__})"
    if float(claims["exp"]) <= time.time():  # within the leeway, which is meant for iat/nbf only
        return "token expired"
    if len(_verified_tokens) >= VERIFIED_TOKENS_MAX:
        _verified_tokens.clear()
    _verified_tokens[key] = float(claims["exp"])
    return None


def entity_id_of(payload: dict, entity: str, *, own_key_first: bool = False) -> str | None:
    """The id VARIO sends under ``id``, ``entityId`` or ``<entity>Id`` (its sources disagree, §4.4).

    ``own_key_first``: a parcel event's body is ``{shipmentId, parcelId}`` (§1.9), so its ``shipmentId``
    wins over a generic ``id``, which could name the parcel.
    """
    keys = (f"{entity}Id", *ID_KEYS) if own_key_first else (*ID_KEYS, f"{entity}Id")
    for key in keys:
        value = payload.get(key)
        if value not in (None, "") and isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _read_json(request) -> tuple[dict | None, JsonResponse | None]:
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > settings.WEBHOOK_MAX_BODY_BYTES:
        return None, error(413, f"Body larger than {settings.WEBHOOK_MAX_BODY_BYTES} bytes.")
    if len(request.body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return None, error(413, f"Body larger than {settings.WEBHOOK_MAX_BODY_BYTES} bytes.")
    try:
        # Python accepts NaN and Infinity; JSON, and the database's JSON column, do not.
        payload = json.loads(request.body or b"", parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        return None, error(400, f"Body is not valid JSON: {exc}")
    if not isinstance(payload, dict):
        return None, error(400, "Body must be a JSON object.")
    if b"\\u0000" in request.body:  # valid JSON, but no database stores a NUL character in text
        return None, error(400, "Body is not storable: it contains a NUL character (\\u0000).")
    return payload, None


def store_or_answer(**fields) -> tuple[tuple[InboxEvent, bool] | None, JsonResponse | None]:
    """``inbox_event_store`` for an HTTP edge: (stored, created), or the error answer when it cannot be.

    Input the database refuses is the caller's fault (400, nothing stored); only an unreachable
    database is answered 503, so that the sender retries.
    """
    try:
        return inbox_event_store(**fields), None
    except InboxEventInvalid as exc:
        return None, error(400, str(exc))
    except (DataError, IntegrityError) as exc:
        logger.warning("%s %s not stored, refused by the database: %s", fields["source"], fields["event"][:50], exc)
        return None, error(400, "The event has values that cannot be stored (text too long or not storable).")
    except (DatabaseError, InterfaceError):
        logger.exception("%s %s not stored: database unavailable", fields["source"], fields["event"][:50])
        return None, error(503, "Database unavailable; please retry.")


def _store_vario_event(request, event: str):
    problem = vario_token_problem(request)
    if problem:
        return error(401, f"Unauthorized: {problem}.")
    payload, problem_response = _read_json(request)
    if problem_response:
        return problem_response
    known = event in VARIO_EVENTS
    entity = event.split(".")[0] if known else "entity"
    if event == "shipment.parcel.completed":
        entity_id = entity_id_of(payload, "shipment", own_key_first=True)
        if entity_id is None:
            return error(400, "No shipment id: expected 'shipmentId' (or 'id').")
    else:
        entity_id = entity_id_of(payload, entity)
        if entity_id is None and known:
            return error(400, "No entity id: expected 'id' or 'entityId' with a document id.")
    result, answer = store_or_answer(
        source=InboxEvent.Source.VARIO_WEBHOOK,
        event=event,
        entity_id=entity_id or "",
        payload=payload,
        ignored_reason="" if known else f"the portal does not handle VARIO event '{event}'",
    )
    if answer:
        return answer
    stored, _ = result
    return JsonResponse({"accepted": True, "eventId": stored.pk, "status": stored.status})


@csrf_exempt
@require_POST
def vario_event(request, event: str):
    """POST /webhooks/vario/<event>: one URL per registered VARIO event (§4.4)."""
    return _store_vario_event(request, event)


@csrf_exempt
@require_POST
def order_status_change(request):
    """POST /webhooks/order-status-change {"entityId": <document id>} (the seed's generic endpoint)."""
    return _store_vario_event(request, "order-status-change")


@csrf_exempt
@require_POST
def channel_order_notification(request, channel_code: str):
    """POST {connectorEndpoint}/order-integration/notification/processing-result?an=<account>.

    A channel's connector endpoint is ``<portal>/webhooks/vtex/<channel code>``. VTEX documents no
    authentication for these calls; a forged one can only make the portal look again (SOI) or wait
    (EOI), because every run re-reads the order from VTEX before acting.
    """
    channel = SalesChannel.objects.filter(code=channel_code, kind=ChannelKind.EXTERNAL_MARKETPLACE).first()
    if channel is None:
        return error(404, f"No external-marketplace sales channel with code '{channel_code}'.")
    account = request.GET.get("an", "")
    if account != channel.vtex_account_name:
        return error(400, f"Query parameter 'an' must be the channel's VTEX account ({channel.vtex_account_name}).")
    payload, problem = _read_json(request)
    if problem:
        return problem
    marketplace_order_id, code = payload.get("marketplaceOrderId"), payload.get("code")
    if not isinstance(marketplace_order_id, str) or not marketplace_order_id or not isinstance(code, str) or not code:
        return error(400, "Expected the Channel Order API contract: 'marketplaceOrderId' and 'code' are required.")
    result, answer = store_or_answer(
        source=InboxEvent.Source.MARKETPLACE,
        event=f"channel-order.{code}",
        entity_id=marketplace_order_id,
        payload=payload,
        channel=channel,
    )
    if answer:
        return answer
    stored, _ = result
    return JsonResponse({"accepted": True, "eventId": stored.pk})
