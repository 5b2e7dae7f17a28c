"""HTTP edges only: authenticate, validate, store, answer. Work happens in jobs (design §2.1, §2.8).

VARIO calls carry ``Authorization: Bearer <app token>``, a JWT signed HS256 with the app's client
secret, with ``aud`` = the app identifier and ``exp`` (reference/vario-erp.md §1.3, §4.4). A 200 is
sent only once the event is committed; the database being down answers 503 so VARIO retries.

Every edge authenticates before it parses the body, and answers any body with a 2xx and a stored
row, a 4xx whose JSON ``error`` names the problem, or 503 (design §2.10). There is no catch-all
turning unexpected exceptions into 4xx: each cause is refused where it arises (the property test in
tests/sync/test_endpoints_property.py posts generated input to every edge), because an exception
nobody foresaw cannot honestly be called the caller's fault or an outage.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable
from functools import wraps

import jwt
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from mappings import selectors
from mappings.models import SalesChannel
from sync.catalog.events import ARTICLE_ID_KEYS, catalog_event_of
from sync.inbox import VARIO_EVENTS, InboxEventInvalid, inbox_event_store
from sync.models import InboxEvent

logger = logging.getLogger(__name__)
ID_KEYS = ("id", "entityId")
# VARIO ids are int64 (the spec's WebhookEntityPayload {id: int64}; object ids serialised as strings,
# reference/vario-erp.md §1.3, §1.9). Database ids start at 1.
VARIO_ID_MAX = 2**63 - 1
VARIO_ID_DIGITS = re.compile(r"[0-9]{1,19}")
# Deeper JSON is refused before anything walks or stores it: VTEX's deepest body here, the Channel
# Order API result, nests 3 levels (reference/vtex.md §7), VARIO's are flat (§1.9). Python's parser
# itself stops near 1,000 levels with a RecursionError, and serialising what it did parse recurses
# again, deeper in the stack.
JSON_MAX_DEPTH = 32
# A NUL or a lone surrogate can only come from an escape (\u0000, \uD800-\uDFFF): the body is strict UTF-8.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")

# App tokens already verified, until their exp. VARIO sends one token with many calls and checking
# the signature again costs more than storing the event. The key holds the secrets, audience and
# lifetime cap too, so a changed setting never reuses a verdict; dict lookups hash with a
# per-process random key, so they leak no timing a forger could use.
_verified_tokens: dict[tuple, float] = {}
VERIFIED_TOKENS_MAX = 256


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def post_only(view):
    """``require_POST`` with a JSON answer: every answer under /webhooks/ is ``{"error": …}`` JSON
    (design §2.10), Django's own 405 is an empty text/html page."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        if request.method != "POST":
            response = error(405, f"Method {request.method} not allowed; use POST.")
            response["Allow"] = "POST"
            return response
        return view(request, *args, **kwargs)

    return checked


@csrf_exempt  # else a POST to an unknown path would get the CSRF middleware's HTML 403
def not_found(request, unrouted: str = ""):
    """Any path under /webhooks/ no route takes (the last URL pattern, sync/urls.py): a JSON 404, the
    same answer a wrong connector secret gets, in place of Django's HTML page."""
    return error(404, "Not found.")


@sensitive_variables("token", "secrets", "secret", "key")
def vario_token_problem(request) -> str | None:
    """Why the request's app token is not acceptable, or None when it is.

    ``VARIO_CLIENT_SECRET_PREVIOUS`` is tried when the current secret's signature does not match, so
    deliveries signed before an operator's rotation in VARIO still land (issue #13 §5).
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")  # not request.headers: it copies every header
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():  # the scheme is case-insensitive (RFC 6750 §2.1)
        return "missing bearer token"
    token = token.strip()
    if not settings.VARIO_CLIENT_SECRET or not settings.VARIO_APP_IDENTIFIER:
        return "the portal has no VARIO client secret / app identifier configured"
    secrets = tuple(s for s in (settings.VARIO_CLIENT_SECRET, settings.VARIO_CLIENT_SECRET_PREVIOUS) if s)
    max_lifetime = settings.VARIO_TOKEN_MAX_LIFETIME_SECONDS
    key = (token, secrets, settings.VARIO_APP_IDENTIFIER, max_lifetime)
    expires_at = _verified_tokens.get(key)
    if expires_at is not None:
        if time.time() < expires_at:
            return None
        _verified_tokens.pop(key, None)
        return "token expired"
    claims = None
    for secret in secrets:
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
            break
        except jwt.InvalidSignatureError:
            continue  # perhaps signed with the other secret; the signature is checked before any claim
        except jwt.ExpiredSignatureError:
            return "token expired"
        except jwt.InvalidTokenError as exc:
            return f"invalid token ({type(exc).__name__})"
    if claims is None:
        return "invalid token (InvalidSignatureError)"
    exp, now = claims["exp"], time.time()
    # PyJWT reads exp with int(), so "9999999999" or true pass it; RFC 7519 §2 says NumericDate.
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return "invalid token (exp is not a number)"
    if exp <= now:  # within the leeway, which is meant for iat/nbf only
        return "token expired"
    # int/float comparison is exact in Python, so an exp of 10**400 cannot overflow here.
    if exp > now + max_lifetime:
        return f"invalid token (valid for more than VARIO_TOKEN_MAX_LIFETIME_SECONDS = {max_lifetime} s)"
    if len(_verified_tokens) >= VERIFIED_TOKENS_MAX:
        _verified_tokens.clear()
    _verified_tokens[key] = float(exp)
    return None


class NotAVarioId(ValueError):
    """An id key holds something VARIO never sends as an id; the message names the key."""


def vario_id(value) -> str | None:
    """``value`` as a VARIO id in its canonical digits, or None when it is not one (bools, floats,
    signs, spaces, other digits than ASCII, zero, more than int64)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not VARIO_ID_DIGITS.fullmatch(value):
            return None
        value = int(value)
    if isinstance(value, int) and 0 < value <= VARIO_ID_MAX:
        return str(value)
    return None


def entity_id_of(
    payload: dict, entity: str, *, own_key_first: bool = False, keys: tuple[str, ...] | None = None
) -> str | None:
    """The id VARIO sends under ``id``, ``entityId`` or ``<entity>Id`` (its sources disagree, §4.4).

    ``own_key_first``: a parcel event's body is ``{shipmentId, parcelId}`` (§1.9), so its ``shipmentId``
    wins over a generic ``id``, which could name the parcel. ``keys``: these, in this order, instead (a
    catalog event's article: ``articleId``, ``entityId``, ``id``, reference/catalog-sync.md §3.3). None when
    no key holds a value; ``NotAVarioId`` when the first that does holds no VARIO id (e.g. "abc", 1.5, -3, true).
    """
    if keys is None:
        keys = (f"{entity}Id", *ID_KEYS) if own_key_first else (*ID_KEYS, f"{entity}Id")
    for key in keys:
        value = payload.get(key)
        if value is None or value == "":
            continue
        found = vario_id(value)
        if found is None:
            raise NotAVarioId(f"'{key}' is not a VARIO id")
        return found
    return None


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):  # 1e999: JSON allows it, no JSON column stores the infinity it becomes
        raise ValueError(f"{text[:40]} is out of range for a number")
    return number


def _json_problem(payload) -> str | None:
    """What makes a parsed body unstorable: nesting deeper than JSON_MAX_DEPTH, a NUL character
    (PostgreSQL's text and jsonb refuse it) or a lone surrogate (UTF-8 cannot encode D800-DFFF), in
    keys as in values. Iterative, so its own depth costs no stack."""
    stack = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > JSON_MAX_DEPTH:
                return f"it nests deeper than {JSON_MAX_DEPTH} levels"
            for key, item in value.items():
                stack.append((key, depth))
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > JSON_MAX_DEPTH:
                return f"it nests deeper than {JSON_MAX_DEPTH} levels"
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            if "\x00" in value:
                return "it contains a NUL character (\\u0000)"
            try:
                value.encode()
            except UnicodeEncodeError:
                return "it contains a lone UTF-16 surrogate (an unpaired \\uD800-\\uDFFF escape)"
    return None


def body_size_problem(request) -> JsonResponse | None:
    """413 for a body over ``WEBHOOK_MAX_BODY_BYTES``, declared or actual (read, not parsed)."""
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > settings.WEBHOOK_MAX_BODY_BYTES:
        return error(413, f"Body larger than {settings.WEBHOOK_MAX_BODY_BYTES} bytes.")
    if len(request.body) > settings.WEBHOOK_MAX_BODY_BYTES:
        return error(413, f"Body larger than {settings.WEBHOOK_MAX_BODY_BYTES} bytes.")
    return None


def json_object_of(body: bytes) -> tuple[dict | None, str | None]:
    """The body as a JSON object, or why it is not one the portal accepts (RFC 8259 §8.1: UTF-8,
    no byte order mark; no NaN/Infinity, NUL, lone surrogate or deep nesting, which no column stores)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"Body is not valid JSON: not UTF-8 (byte {exc.start}); send UTF-8 without a byte order mark."
    if text.startswith("\ufeff"):
        return None, "Body is not valid JSON: it starts with a byte order mark; send UTF-8 without one."
    try:
        # Python accepts NaN, Infinity and 1e999; JSON, and the database's JSON column, do not.
        payload = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        return None, f"Body is not storable: it nests deeper than {JSON_MAX_DEPTH} levels."
    except ValueError as exc:
        return None, f"Body is not valid JSON: {str(exc)[:200]}"
    if not isinstance(payload, dict):
        return None, "Body must be a JSON object."
    # The walk only for bodies that could fail it: enough brackets to nest that deep, or an escape that
    # could be a NUL or a lone surrogate (a raw NUL or surrogate is not valid JSON or UTF-8).
    if body.count(b"[") + body.count(b"{") > JSON_MAX_DEPTH or _UNSTORABLE_ESCAPE.search(body):
        problem = _json_problem(payload)
        if problem:
            return None, f"Body is not storable: {problem}."
    return payload, None


def read_json_object(request) -> tuple[dict | None, JsonResponse | None]:
    """The request's body as a JSON object, or the 413/400 answer that says why not."""
    too_large = body_size_problem(request)
    if too_large:
        return None, too_large
    payload, problem = json_object_of(request.body)
    if problem:
        return None, error(400, problem)
    return payload, None


def channel_or_answer(
    selector: Callable[..., SalesChannel | None], **kwargs
) -> tuple[SalesChannel | None, JsonResponse | None]:
    """The channel an edge's URL names, read through ``selector`` (a ``mappings.selectors`` function,
    design §3; None if none), or 503 when the database cannot say."""
    try:
        return selector(**kwargs), None
    except (DatabaseError, InterfaceError):
        logger.exception("sales channel not read: database unavailable")
        return None, error(503, "Database unavailable; please retry.")


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
    payload, problem_response = read_json_object(request)
    if problem_response:
        return problem_response
    catalog = catalog_event_of(event) is not None
    known = event in VARIO_EVENTS or catalog
    entity = event.split(".")[0] if known else "entity"
    parcel = event == "shipment.parcel.completed"
    expected = "expected 'shipmentId' (or 'id')" if parcel else "expected 'id' or 'entityId' with a document id"
    if catalog:
        expected = "expected 'articleId' (or 'entityId', 'id') with an article id"
    try:
        entity_id = entity_id_of(
            payload, "shipment" if parcel else entity, own_key_first=parcel, keys=ARTICLE_ID_KEYS if catalog else None
        )
    except NotAVarioId as exc:
        return error(400, f"{exc}: {expected}, a positive int64 as digits or a JSON integer.")
    if entity_id is None and parcel:
        return error(400, f"No shipment id: {expected}.")
    if entity_id is None and known:
        return error(400, f"No entity id: {expected}.")
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
@post_only
def vario_event(request, event: str):
    """POST /webhooks/vario/<event>: one URL per registered VARIO event (§4.4)."""
    return _store_vario_event(request, event)


@csrf_exempt
@post_only
def order_status_change(request):
    """POST /webhooks/order-status-change {"entityId": <document id>} (the seed's generic endpoint)."""
    return _store_vario_event(request, "order-status-change")


@sensitive_variables("secret")  # topmost, so the argument is hidden through the other decorators too
@csrf_exempt
@post_only
def channel_order_notification(request, channel_code: str, secret: str):
    """POST {connectorEndpoint}/order-integration/notification/processing-result?an=<account>.

    VTEX documents no authentication for these calls and the connector endpoint may carry no query
    string (reference/vtex.md §7), but its path is ours: the portal sends ``connectorEndpoint`` =
    the channel's endpoint + ``/<connector secret>`` (``SalesChannel.connector_notification_endpoint``),
    so VTEX posts to ``…/webhooks/vtex/<channel>/<secret>/order-integration/…``. A wrong or missing
    secret, an unknown channel and a channel that is no marketplace connector all answer the same
    404 after the same work (``selectors.marketplace_channel_authenticated``), so neither the answer
    nor its time confirms the channel. Authenticated, it is more than a hint: an EOI error arrives
    nowhere else, so it may fail the order's sync (``sync.inbox``; docs/outbound.md "What a
    notification may do").
    """
    channel, answer = channel_or_answer(selectors.marketplace_channel_authenticated, code=channel_code, secret=secret)
    if answer:
        return answer
    if channel is None:
        return error(404, "Not found.")
    try:
        account = request.GET.get("an", "")
    except SuspiciousOperation as exc:  # e.g. more query parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS
        return error(400, f"Query string refused: {exc}")
    if account != channel.vtex_account_name:
        return error(400, f"Query parameter 'an' must be the channel's VTEX account ({channel.vtex_account_name}).")
    payload, problem = read_json_object(request)
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
