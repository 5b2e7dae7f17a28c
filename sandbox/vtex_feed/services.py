"""Feed v3 and hook simulation (reference/vtex.md §1, docs/sandbox-vtex-feed.md).

Time always comes from ``sandbox.clock`` so tests can age items, feeds and hooks by moving the
clock. Expiry and idle deletion are applied lazily, whenever a feed or hook of the account is
touched (read, written, or sent an event), which is indistinguishable from a background sweep for
anyone talking HTTP.
"""

from __future__ import annotations

import base64
import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from django.db import transaction

from sandbox import clock
from sandbox.deliveries import delivery_enqueue
from sandbox.http import QueryParamError, int_query_param
from sandbox.routers import SANDBOX_DB
from sandbox.settings_store import setting_get, setting_set
from sandbox.vtex_feed.models import FeedConfig, FeedItem, FilterType, HookConfig, SingleFireMark

DOMAIN = "Fulfillment"
RETENTION_MIN_SECONDS = 345_600  # 4 days
RETENTION_MAX_SECONDS = 1_209_600  # 14 days
# VTEX's older help article: default 30 s, maximum 12 h. Current docs give no limits; the narrower
# range is enforced (and 0, which would make every read a redelivery, is refused).
VISIBILITY_MIN_SECONDS = 1
VISIBILITY_MAX_SECONDS = 43_200
MAXLOT_MAX = 10
HOOK_IDLE = timedelta(days=3)
HOOK_PING_TIMEOUT_SECONDS = 5.0
HOOK_PING_BODY = {"hookConfig": "ping"}
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
SHUFFLE_WINDOW = 1000  # a shuffled read picks among this many oldest visible items

FAULTS_KEY = "vtex.feed_faults"
HOOK_RETRY_DELAYS_KEY = "vtex.hook_retry_delays"
HANDLE_SECRET = "sandbox-vtex-feed-handles-are-opaque-to-clients"  # noqa: S105 - signs opaque simulator handles, guards nothing
HANDLE_ISSUER = "broadcast-api.sandbox.local"


def _geometric_delays() -> list[float]:
    """VTEX drops an event after >100 failed deliveries over ~4 days, at growing intervals:
    100 retries doubling from 1 s, capped at 1 h (≈ 3.7 days in all)."""
    return [float(min(2**n, 3600)) for n in range(100)]


DEFAULT_HOOK_RETRY_DELAYS = _geometric_delays()
DEFAULT_FAULTS = {"duplicateRate": 0.0, "shuffle": False, "seed": 0}


@dataclass
class FeedError(Exception):
    """A refusal in VTEX's shape: the view turns it into ``{"error": {"code", "message", "exception"}}``.

    VTEX publishes no error codes for the feed and hook endpoints, so the codes start with ``SBX-`` (as in the
    rest of the VTEX simulator) and nobody mistakes them for VTEX's.
    """

    status: int
    code: str
    message: str


# --- formats ------------------------------------------------------------------------------------


def vtex_timestamp(value: datetime | str | None) -> str:
    """ISO 8601 UTC with 7 fraction digits, as in feed items and hook payloads (``…T20:54:23.7153839Z``)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond:06d}0Z"


def _event_id() -> str:
    return uuid.uuid4().hex.upper()


def _handle_new(*, item: FeedItem, account, now: datetime) -> str:
    """A JWT shaped like VTEX's: the claims describe the event, ``Handle`` is a fresh queue receipt."""
    receipt = "AQEB" + base64.b64encode(secrets.token_bytes(96)).decode()
    claims = {
        "AppKey": account.app_key,
        "Account": account.account_name,
        "Handle": receipt,
        "OrderId": item.order_id,
        "MessageId": str(uuid.uuid4()),
        "Domain": item.domain,
        "State": item.state,
        "LastState": item.last_state,
        "LastChange": item.last_change,
        "CurrentChange": item.current_change,
        "CreatedAt": vtex_timestamp(now),
        "iss": HANDLE_ISSUER,
        "aud": f"{account.account_name}_{account.app_key}",
    }
    return jwt.encode(claims, HANDLE_SECRET, algorithm="HS256")


# --- filters ------------------------------------------------------------------------------------


def filter_parse(*, data: Any, channel: str) -> dict:
    """Validate a ``filter`` object; returns the model fields. ``channel`` is "feed" or "hook".

    Mixing the types' fields is a 409 (reference §1.2). The hook's spec additionally demands at least
    one status for FromWorkflow and both expression and disableSingleFire for FromOrders.
    """
    if not isinstance(data, dict):
        raise FeedError(400, "SBX-FILTER-INVALID", "filter is required and must be an object.")
    filter_type = data.get("type")
    if filter_type not in FilterType.values:
        raise FeedError(400, "SBX-FILTER-INVALID", "filter.type is required and must be FromWorkflow or FromOrders.")
    status = data.get("status")
    expression = data.get("expression")
    single_fire = data.get("disableSingleFire")
    if filter_type == FilterType.FROM_WORKFLOW:
        if expression is not None or single_fire is not None:
            raise FeedError(
                409,
                "SBX-FILTER-CONFLICT",
                "filter.expression and filter.disableSingleFire cannot be used with FromWorkflow.",
            )
        if status is not None and (not isinstance(status, list) or not all(isinstance(s, str) for s in status)):
            raise FeedError(400, "SBX-FILTER-INVALID", "filter.status must be a list of status strings.")
        if channel == "hook" and not status:
            raise FeedError(
                400, "SBX-FILTER-INVALID", "filter.status must list at least one status for a FromWorkflow hook."
            )
        return {
            "filter_type": filter_type,
            "statuses": status or None,
            "expression": "",
            "disable_single_fire": None,
        }
    if status is not None:
        raise FeedError(409, "SBX-FILTER-CONFLICT", "filter.status cannot be used with FromOrders.")
    if not isinstance(expression, str) or not expression.strip():
        raise FeedError(
            400, "SBX-FILTER-INVALID", "filter.expression is required for FromOrders and must be a JSONata string."
        )
    if single_fire is not None and not isinstance(single_fire, bool):
        raise FeedError(400, "SBX-FILTER-INVALID", "filter.disableSingleFire must be a boolean.")
    if channel == "hook" and single_fire is None:
        raise FeedError(400, "SBX-FILTER-INVALID", "filter.disableSingleFire is required for a FromOrders hook.")
    return {
        "filter_type": filter_type,
        "statuses": None,
        "expression": expression,
        "disable_single_fire": single_fire,
    }


def filter_view(config: FeedConfig | HookConfig) -> dict:
    if config.filter_type == FilterType.FROM_WORKFLOW:
        view: dict = {"type": config.filter_type}
        if config.statuses is not None:
            view["status"] = list(config.statuses)
        return view
    view = {"type": config.filter_type, "expression": config.expression}
    view["disableSingleFire"] = bool(config.disable_single_fire)
    return view


def _filter_matches(*, config: FeedConfig | HookConfig, channel: str, order_id: str, state: str) -> bool:
    if config.filter_type == FilterType.FROM_WORKFLOW:
        # Status strings are compared literally: VTEX does not validate them, a typo never matches.
        return config.statuses is None or state in config.statuses
    # FromOrders: the expression is not evaluated (the sandbox has no order document here); every
    # change matches, and without disableSingleFire each order comes in only the first time.
    if config.disable_single_fire:
        return True
    _, created = SingleFireMark.objects.get_or_create(account=config.account, channel=channel, order_id=order_id)
    return created


def _single_fire_forget(*, account, channel: str) -> None:
    SingleFireMark.objects.filter(account=account, channel=channel).delete()


# --- feed configuration ---------------------------------------------------------------------------


def _queue_int(queue: dict, name: str) -> int:
    """A queue field by name, case-insensitively (VTEX's POST spells MessageRetention… with a capital M, its GET
    with a small one; its .NET binder very likely accepts both)."""
    found = [value for key, value in queue.items() if isinstance(key, str) and key.lower() == name.lower()]
    if not found:
        raise FeedError(400, "SBX-QUEUE-INVALID", f"queue.{name} is required.")
    if len(found) > 1 and any(value != found[0] for value in found):
        raise FeedError(400, "SBX-QUEUE-INVALID", f"queue.{name} is given twice with different values.")
    value = found[0]
    if not isinstance(value, int) or isinstance(value, bool):
        raise FeedError(400, "SBX-QUEUE-INVALID", f"queue.{name} must be an integer number of seconds.")
    return value


def queue_parse(*, data: Any) -> dict:
    if not isinstance(data, dict):
        raise FeedError(400, "SBX-QUEUE-INVALID", "queue is required and must be an object.")
    visibility = _queue_int(data, "visibilityTimeoutInSeconds")
    retention = _queue_int(data, "MessageRetentionPeriodInSeconds")
    if not VISIBILITY_MIN_SECONDS <= visibility <= VISIBILITY_MAX_SECONDS:
        raise FeedError(
            400,
            "SBX-QUEUE-INVALID",
            f"queue.visibilityTimeoutInSeconds must be between {VISIBILITY_MIN_SECONDS} and {VISIBILITY_MAX_SECONDS}.",
        )
    if not RETENTION_MIN_SECONDS <= retention <= RETENTION_MAX_SECONDS:
        raise FeedError(
            400,
            "SBX-QUEUE-INVALID",
            f"queue.MessageRetentionPeriodInSeconds must be between {RETENTION_MIN_SECONDS} and "
            f"{RETENTION_MAX_SECONDS}.",
        )
    return {"visibility_timeout_seconds": visibility, "retention_seconds": retention}


def _feed_live(*, account, now: datetime) -> FeedConfig | None:
    """The account's feed after expiry: items past retention are gone, and a feed that got no new event for a
    whole retention period is deleted."""
    feed = FeedConfig.objects.filter(account=account).first()
    if feed is None:
        return None
    retention = timedelta(seconds=feed.retention_seconds)
    last_activity = max(feed.configured_at, feed.last_event_at or feed.configured_at)
    if last_activity + retention <= now:
        feed.delete()
        _single_fire_forget(account=account, channel="feed")
        return None
    FeedItem.objects.filter(feed=feed, enqueued_at__lte=now - retention).delete()
    return feed


def feed_config_save(*, account, data: Any) -> FeedConfig:
    if not isinstance(data, dict):
        raise FeedError(400, "SBX-INVALID-BODY", "The body must be a JSON object with filter and queue.")
    fields = filter_parse(data=data.get("filter"), channel="feed")
    fields.update(queue_parse(data=data.get("queue")))
    now = clock.now()
    with transaction.atomic(using=SANDBOX_DB):
        # Reconfiguring keeps the queued items (reference §1.2); only the filter and timings change.
        _feed_live(account=account, now=now)
        feed, _ = FeedConfig.objects.update_or_create(account=account, defaults={**fields, "configured_at": now})
        _single_fire_forget(account=account, channel="feed")
    return feed


def _config_get(live, *, account):
    """The account's live configuration (feed or hook); an idle one is deleted on the way."""
    with transaction.atomic(using=SANDBOX_DB):
        return live(account=account, now=clock.now())


def _config_delete(live, *, account, channel: str) -> bool:
    with transaction.atomic(using=SANDBOX_DB):
        config = live(account=account, now=clock.now())
        if config is None:
            return False
        config.delete()
        _single_fire_forget(account=account, channel=channel)
        return True


def feed_config_get(*, account) -> FeedConfig | None:
    return _config_get(_feed_live, account=account)


def feed_config_delete(*, account) -> bool:
    return _config_delete(_feed_live, account=account, channel="feed")


def feed_config_view(*, feed: FeedConfig) -> dict:
    now = clock.now()
    items = FeedItem.objects.filter(feed=feed)
    oldest = items.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    return {
        "filter": filter_view(feed),
        # The GET spells it with a small m (spec example, reference §1.1); clients must read both.
        "queue": {
            "visibilityTimeoutInSeconds": feed.visibility_timeout_seconds,
            "messageRetentionPeriodInSeconds": feed.retention_seconds,
        },
        "quantity": items.count(),
        "approximateAgeOfOldestMessageInSeconds": (now - oldest).total_seconds() if oldest else 0,
    }


# --- feed items ---------------------------------------------------------------------------------------


def maxlot_parse(*, raw: str | None) -> int:
    """maxlot is required and at most 10; VTEX's behaviour outside that is unconfirmed, so it is refused."""
    if raw is None:
        raise FeedError(400, "SBX-MAXLOT-INVALID", f"maxlot is required: a whole number from 1 to {MAXLOT_MAX}.")
    try:
        # Not str.isdigit(), which passes "²" on to int() (a 500).
        return int_query_param({"maxlot": raw}, "maxlot", default=0, minimum=1, maximum=MAXLOT_MAX)
    except QueryParamError as exc:
        raise FeedError(400, "SBX-MAXLOT-INVALID", f"{exc}.") from None


def feed_item_view(*, item: FeedItem) -> dict:
    return {
        "eventId": item.event_id,
        "handle": item.handle,
        "domain": item.domain,
        "state": item.state,
        "lastState": item.last_state,
        "orderId": item.order_id,
        "lastChange": item.last_change,
        "currentChange": item.current_change,
    }


def feed_items_retrieve(*, account, maxlot: int) -> list[dict]:
    """Up to ``maxlot`` visible items; each is hidden for the visibility timeout and gets a new handle."""
    now = clock.now()
    with transaction.atomic(using=SANDBOX_DB):
        feed = _feed_live(account=account, now=now)
        if feed is None:
            raise FeedError(404, "SBX-FEED-NOT-FOUND", "There is no feed configuration for this appKey.")
        visible = (
            FeedItem.objects.select_for_update().filter(feed=feed, visible_at__lte=now).order_by("enqueued_at", "id")
        )
        if feed_faults_get()["shuffle"]:
            items = list(visible[:SHUFFLE_WINDOW])
            _fault_rng().shuffle(items)
            items = items[:maxlot]
        else:
            items = list(visible[:maxlot])
        hidden_until = now + timedelta(seconds=feed.visibility_timeout_seconds)
        for item in items:
            item.handle = _handle_new(item=item, account=account, now=now)
            item.visible_at = hidden_until
            item.receive_count += 1
            item.save(update_fields=["handle", "visible_at", "receive_count"])
    return [feed_item_view(item=item) for item in items]


def commit_parse(*, data: Any) -> list[str]:
    if not isinstance(data, dict) or not isinstance(data.get("handles"), list):
        raise FeedError(400, "SBX-INVALID-BODY", "The body must be a JSON object with a handles list.")
    handles = data["handles"]
    if not all(isinstance(handle, str) for handle in handles):
        raise FeedError(400, "SBX-HANDLES-INVALID", "handles must be a list of strings.")
    return handles


def feed_items_commit(*, account, handles: list[str]) -> int:
    """Remove the items whose *latest* handle is given. A stale handle (the item was delivered again since) or
    an unknown one removes nothing and is not an error: VTEX documents no error for it."""
    now = clock.now()
    with transaction.atomic(using=SANDBOX_DB):
        feed = _feed_live(account=account, now=now)
        if feed is None:
            raise FeedError(404, "SBX-FEED-NOT-FOUND", "There is no feed configuration for this appKey.")
        wanted = [handle for handle in handles if handle]
        if not wanted:
            return 0
        deleted, _ = FeedItem.objects.filter(feed=feed, handle__in=wanted).delete()
        return deleted


# --- hook configuration ---------------------------------------------------------------------------


def hook_url_check(*, url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise FeedError(400, "SBX-HOOK-ADDRESS", "hook.url is required.")
    parts = urlsplit(url)
    if not parts.hostname:
        raise FeedError(400, "SBX-HOOK-ADDRESS", "Unable to check address.")
    # https only, as VTEX; plain http is let through for loopback so tests and the demo need no TLS.
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        return url
    raise FeedError(400, "SBX-HOOK-ADDRESS", "Only https scheme is accepted.")


def hook_headers_check(*, headers: Any) -> dict[str, str]:
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise FeedError(400, "SBX-HOOK-INVALID", "hook.headers is required and must be an object of string values.")
    return headers


def hook_ping(*, url: str, headers: dict[str, str]) -> None:
    """VTEX POSTs {"hookConfig": "ping"} and saves nothing unless the endpoint answers 200."""
    try:
        response = requests.post(
            url,
            json=HOOK_PING_BODY,
            headers={**headers, "Content-Type": "application/json"},
            timeout=HOOK_PING_TIMEOUT_SECONDS,
        )
    except requests.RequestException:
        raise FeedError(400, "SBX-HOOK-ADDRESS", "Unable to check address.") from None
    if response.status_code != 200:
        raise FeedError(
            400,
            "SBX-HOOK-ADDRESS",
            f"Unable to check address: the endpoint answered {response.status_code} to the ping.",
        )


def hook_config_save(*, account, data: Any) -> HookConfig:
    if not isinstance(data, dict):
        raise FeedError(400, "SBX-INVALID-BODY", "The body must be a JSON object with filter and hook.")
    fields = filter_parse(data=data.get("filter"), channel="hook")
    hook = data.get("hook")
    if not isinstance(hook, dict):
        raise FeedError(400, "SBX-HOOK-INVALID", "hook is required and must be an object with url and headers.")
    url = hook_url_check(url=hook.get("url"))
    headers = hook_headers_check(headers=hook.get("headers"))
    hook_ping(url=url, headers=headers)  # outside any transaction: it waits on the network
    now = clock.now()
    with transaction.atomic(using=SANDBOX_DB):
        config, _ = HookConfig.objects.update_or_create(
            account=account,
            defaults={**fields, "url": url, "headers": headers, "configured_at": now, "last_notification_at": None},
        )
        _single_fire_forget(account=account, channel="hook")
    return config


def _hook_live(*, account, now: datetime) -> HookConfig | None:
    """The account's hook, unless it sent no notification for 3 days (then VTEX deletes it)."""
    hook = HookConfig.objects.filter(account=account).first()
    if hook is None:
        return None
    if (hook.last_notification_at or hook.configured_at) + HOOK_IDLE <= now:
        hook.delete()
        _single_fire_forget(account=account, channel="hook")
        return None
    return hook


def hook_config_get(*, account) -> HookConfig | None:
    return _config_get(_hook_live, account=account)


def hook_config_delete(*, account) -> bool:
    return _config_delete(_hook_live, account=account, channel="hook")


def hook_config_view(*, hook: HookConfig) -> dict:
    return {"filter": filter_view(hook), "hook": {"url": hook.url, "headers": dict(hook.headers)}}


def hook_retry_delays_get() -> list[float]:
    return list(setting_get(key=HOOK_RETRY_DELAYS_KEY, default=DEFAULT_HOOK_RETRY_DELAYS))


def hook_retry_delays_set(*, delays: list[float]) -> None:
    setting_set(key=HOOK_RETRY_DELAYS_KEY, value=[float(d) for d in delays])


# --- faults -------------------------------------------------------------------------------------------


def feed_faults_get() -> dict:
    return {**DEFAULT_FAULTS, **(setting_get(key=FAULTS_KEY, default=None) or {})}


def feed_faults_set(*, duplicate_rate: float, shuffle: bool, seed: int | str) -> dict:
    setting_set(key=FAULTS_KEY, value={"duplicateRate": duplicate_rate, "shuffle": shuffle, "seed": seed, "draws": 0})
    return feed_faults_get()


def _fault_rng() -> random.Random:
    """A fresh generator per draw, seeded with (seed, draw number): reproducible across requests and restarts."""
    faults = feed_faults_get()
    draws = int(faults.get("draws", 0))
    setting_set(key=FAULTS_KEY, value={**faults, "draws": draws + 1})
    return random.Random(f"{faults['seed']}:{draws}")  # noqa: S311 - fault injection, not security


# --- events -----------------------------------------------------------------------------------------


def feed_events_emit(*, order, last_state, state, last_change, current_change) -> None:
    """Create feed items for matching feed configurations and queue hook notifications.

    Called by the order simulator on every status change, inside its transaction. ``order`` needs only
    ``order_id`` and ``account`` (the appKey that owns one feed and one hook).
    """
    account = order.account
    if account is None:  # an order no API key owns has no feed or hook to notify
        return
    order_id = str(order.order_id)
    now = clock.now()
    last_change_text = vtex_timestamp(last_change or current_change)
    current_change_text = vtex_timestamp(current_change or now)
    with transaction.atomic(using=SANDBOX_DB):
        feed = _feed_live(account=account, now=now)
        if feed is not None and _filter_matches(config=feed, channel="feed", order_id=order_id, state=state):
            feed_item_enqueue(
                feed=feed,
                order_id=order_id,
                state=state,
                last_state=last_state or "",
                last_change=last_change_text,
                current_change=current_change_text,
                now=now,
            )
        hook = _hook_live(account=account, now=now)
        if hook is not None and _filter_matches(config=hook, channel="hook", order_id=order_id, state=state):
            hook_notification_enqueue(
                hook=hook,
                order_id=order_id,
                state=state,
                last_state=last_state or "",
                last_change=last_change_text,
                current_change=current_change_text,
                now=now,
            )


def feed_item_enqueue(
    *, feed: FeedConfig, order_id: str, state: str, last_state: str, last_change: str, current_change: str, now
) -> list[FeedItem]:
    fields = {
        "feed": feed,
        "event_id": _event_id(),
        "order_id": order_id,
        "domain": DOMAIN,
        "state": state,
        "last_state": last_state,
        "last_change": last_change,
        "current_change": current_change,
        "enqueued_at": now,
        "visible_at": now,
    }
    items = [FeedItem.objects.create(**fields)]
    rate = float(feed_faults_get()["duplicateRate"])
    # A duplicate is the same event stored twice (same eventId), delivered separately with its own handles.
    if rate > 0 and _fault_rng().random() < rate:
        items.append(FeedItem.objects.create(**fields))
    feed.last_event_at = now
    feed.save(update_fields=["last_event_at"])
    return items


def hook_notification_body(
    *, hook: HookConfig, order_id: str, state: str, last_state: str, last_change: str, current_change: str
) -> dict:
    return {
        "Domain": DOMAIN,
        "OrderId": order_id,
        "State": state,
        "LastState": last_state,
        "LastChange": last_change,
        "CurrentChange": current_change,
        "Origin": {"Account": hook.account.account_name, "Key": hook.account.app_key},
    }


def hook_notification_enqueue(
    *, hook: HookConfig, order_id: str, state: str, last_state: str, last_change: str, current_change: str, now
):
    body = hook_notification_body(
        hook=hook,
        order_id=order_id,
        state=state,
        last_state=last_state,
        last_change=last_change,
        current_change=current_change,
    )
    delivery = delivery_enqueue(
        kind="vtex_hook",
        url=hook.url,
        body=body,
        event=state,
        headers=dict(hook.headers),
        retry_delays=hook_retry_delays_get(),
        expect_status=200,  # VTEX wants exactly 200 from a hook endpoint (reference §1.9)
    )
    hook.last_notification_at = now
    hook.save(update_fields=["last_notification_at"])
    return delivery


# --- control ------------------------------------------------------------------------------------------


def feed_queue_snapshot(*, account) -> dict:
    """The raw queue for tests: every stored item, visible or not, with its handle and expiry."""
    now = clock.now()
    with transaction.atomic(using=SANDBOX_DB):
        feed = _feed_live(account=account, now=now)
        hook = _hook_live(account=account, now=now)
    snapshot: dict = {"appKey": account.app_key, "account": account.account_name, "now": now.isoformat()}
    snapshot["hook"] = (
        None
        if hook is None
        else {
            **hook_config_view(hook=hook),
            "lastNotificationAt": hook.last_notification_at.isoformat() if hook.last_notification_at else None,
            "deletedWhenIdleAt": ((hook.last_notification_at or hook.configured_at) + HOOK_IDLE).isoformat(),
        }
    )
    if feed is None:
        return {**snapshot, "feed": None, "items": []}
    retention = timedelta(seconds=feed.retention_seconds)
    snapshot["feed"] = {
        **feed_config_view(feed=feed),
        "lastEventAt": feed.last_event_at.isoformat() if feed.last_event_at else None,
        "deletedWhenIdleAt": (
            max(feed.configured_at, feed.last_event_at or feed.configured_at) + retention
        ).isoformat(),
    }
    snapshot["items"] = [
        {
            **feed_item_view(item=item),
            "visible": item.visible_at <= now,
            "visibleAt": item.visible_at.isoformat(),
            "enqueuedAt": item.enqueued_at.isoformat(),
            "expiresAt": (item.enqueued_at + retention).isoformat(),
            "receiveCount": item.receive_count,
        }
        for item in FeedItem.objects.filter(feed=feed).order_by("enqueued_at", "id")
    ]
    return snapshot
