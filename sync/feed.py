"""The VTEX orders feed and hook: configuring them, and the poller that moves feed items into the inbox.

The poller follows VTEX's reference consumer (reference/vtex.md §1.6): read up to 10 items, store each
one as an inbox event (unique by event id, so a redelivered or duplicated event is absorbed), commit
every handle once its event is stored — ignored ones too, or they would block the queue —, and read
again at once while batches come back full. Processing happens in workers, never in the poller, so
the visibility timeout is only ever spent on a database insert.

One poller per VTEX account is active: a Redis lock with a lease keeps any other one idle as a hot
standby, which takes over when the lease runs out (the active one died) (design §5).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import LockError, RedisError

from mappings import selectors
from mappings.models import SalesChannel, SyncType
from mappings.services import sales_channel_hook_url_set
from portal.redis import redis_connection
from sync.clients.dtos import FeedConfig, FeedItem
from sync.clients.errors import AuthError, NotFoundError, RemoteError, RetryableError
from sync.clients.vtex import MAX_FEED_LOT, VtexClient
from sync.models import FeedPollState, InboxEvent
from sync.queue import inbox_events_signal
from sync.remotes import NotConfigured, vtex_client_for

logger = logging.getLogger(__name__)
POLL_LOCK = "portal:lock:feed-poll:{account}"


# --- configuration ------------------------------------------------------------------------------------


def feed_statuses_for(*, channel: SalesChannel) -> list[str]:
    """The statuses the import reacts to; VTEX does not validate them, so they come from one place."""
    return list(dict.fromkeys(settings.VTEX_FEED_STATUSES))


def feed_configure(*, channel: SalesChannel, client: VtexClient | None = None) -> FeedConfig:
    """Create or update the channel's feed configuration (idempotent) and return what VTEX now has."""
    vtex = client or vtex_client_for(channel)
    vtex.set_feed_config(
        statuses=feed_statuses_for(channel=channel),
        visibility_timeout=settings.VTEX_FEED_VISIBILITY_TIMEOUT,
        retention=settings.VTEX_FEED_RETENTION,
    )
    config = vtex.get_feed_config()
    if config is None:  # pragma: no cover - VTEX answered 200 to the POST and 404 to the GET
        raise NotFoundError("feed configuration missing right after saving it", remote="vtex")
    return config


def hook_url_check(*, channel: SalesChannel, url: str) -> None:
    """Refuse, before VTEX is called, a URL the channel could not keep or that is not its own receiver
    (another channel's receiver answers VTEX's ping, then refuses every notification with 401)."""
    url_field = SalesChannel._meta.get_field("vtex_hook_url")
    try:
        url_field.clean(url, channel)
    except ValidationError as exc:
        raise NotConfigured(f"Hook URL {url!r} refused: {' '.join(exc.messages)}") from None
    own_path = reverse("webhook-vtex-orders", args=[channel.code])
    # A URL the channel already keeps was accepted when it was set (a proxy may rewrite its path).
    if url != channel.vtex_hook_url and urlsplit(url).path.rstrip("/") != own_path.rstrip("/"):
        raise NotConfigured(f"Hook URL {url!r} refused: sales channel {channel.code}'s receiver is <portal>{own_path}")


def hook_configure(*, channel: SalesChannel, url: str, client: VtexClient | None = None) -> dict:
    """Create or update the channel's hook (VTEX pings ``url`` first; it must answer 200) and remember
    ``url`` on the channel, so the periodic hook check (``sync.monitoring``) can recreate it once VTEX
    deletes it for being idle (reference §1.9)."""
    if not channel.vtex_hook_secret:
        raise NotConfigured(f"Sales channel {channel.code} has no VTEX hook secret: set one in the admin first.")
    hook_url_check(channel=channel, url=url)
    vtex = client or vtex_client_for(channel)
    vtex.set_hook_config(
        statuses=feed_statuses_for(channel=channel),
        url=url,
        headers={settings.VTEX_HOOK_SECRET_HEADER: channel.vtex_hook_secret},
    )
    sales_channel_hook_url_set(channel=channel, url=url)  # only once VTEX accepted it (the ping passed)
    return dict(vtex.get_hook_config() or {})


# --- polling -------------------------------------------------------------------------------------------


def _feed_event(channel: SalesChannel, item: FeedItem) -> InboxEvent:
    # Flat strings, so no deep copy (dataclasses.asdict) is needed; handles are one-use, not kept.
    payload = {f.name: getattr(item, f.name) for f in fields(item) if f.name != "handle"}
    # A change without status cannot be acted on (reference §1.6.6); keep it visible, commit it.
    ignored = "" if item.state else "feed item without a status"
    return InboxEvent(
        source=InboxEvent.Source.VTEX_FEED,
        event=item.state or "(no status)",
        entity_id=item.order_id,
        payload=payload,
        channel=channel,
        dedup_key=f"vtex-feed:{item.event_id}",
        status=InboxEvent.Status.IGNORED if ignored else InboxEvent.Status.PENDING,
        last_error=ignored,
        processed_at=timezone.now() if ignored else None,
    )


def feed_events_store(*, channel: SalesChannel, items: list[FeedItem]) -> list[InboxEvent]:
    """Store a batch of feed items in the inbox at once; returns the new events (not redeliveries or
    duplicates, which the unique dedup key absorbs) and enqueues the pending ones after the commit."""
    if not items:
        return []
    events = {}
    for item in items:
        events.setdefault(f"vtex-feed:{item.event_id}", _feed_event(channel, item))  # a batch may repeat an event
    with transaction.atomic():
        new = _insert_new(list(events.values()))
        pending = [e.pk for e in new if e.status == InboxEvent.Status.PENDING]
        if pending:
            transaction.on_commit(lambda: inbox_events_signal(event_ids=pending))
    return new


def _insert_new(events: list[InboxEvent]) -> list[InboxEvent]:
    """Insert the events not stored yet; returns them with their ids.

    Redeliveries are the exception, so first one INSERT … RETURNING for the whole batch; only when
    it meets a stored event id does the batch take the slower path (look up, insert the rest, read
    them back: ``ignore_conflicts`` gives no ids).
    """
    if connection.features.can_return_rows_from_bulk_insert:
        try:
            with transaction.atomic():
                return InboxEvent.objects.bulk_create(events)
        except IntegrityError:
            pass
    keys = [e.dedup_key for e in events]
    known = set(InboxEvent.objects.filter(dedup_key__in=keys).values_list("dedup_key", flat=True))
    InboxEvent.objects.bulk_create([e for e in events if e.dedup_key not in known], ignore_conflicts=True)
    return list(InboxEvent.objects.filter(dedup_key__in=set(keys) - known))


@dataclass
class BatchResult:
    retrieved: int = 0
    new: int = 0
    wait: float = 0.0  # seconds the remote asked us to wait (429 Retry-After) or an error back-off

    @property
    def full(self) -> bool:
        return self.retrieved >= MAX_FEED_LOT


def _state_update(channel: SalesChannel, **fields) -> None:
    FeedPollState.objects.update_or_create(channel=channel, defaults=fields)


def _poller_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def feed_batch_poll(*, channel: SalesChannel, client: VtexClient | None = None) -> BatchResult:
    """One retrieve → store → commit round for one channel. Never raises for remote trouble."""
    result = BatchResult()
    try:
        vtex = client or vtex_client_for(channel)
        try:
            items = vtex.retrieve_feed(maxlot=MAX_FEED_LOT)
        except NotFoundError:
            # VTEX deletes a feed that got no event during its retention period (§1.2): recreate it.
            config = feed_configure(channel=channel, client=vtex)
            logger.warning(
                "feed %s: configuration had vanished (404); recreated with %s", channel.code, ", ".join(config.statuses)
            )
            _state_update(
                channel, last_error="feed configuration had vanished; recreated", last_error_at=timezone.now()
            )
            return result
        # One transaction and one Redis round trip per batch, not per event.
        result.new = len(feed_events_store(channel=channel, items=items))
        handles = [item.handle for item in items]  # stored (new or absorbed as duplicates): safe to commit
        result.retrieved = len(items)
        vtex.commit_feed(handles)
    except RetryableError as exc:
        if exc.retry_after:
            result.wait = exc.retry_after
        elif exc.status == 429:  # VTEX's feed guide: a minute when it does not say how long
            result.wait = settings.RETRY_AFTER_DEFAULT_SECONDS
        else:  # connection trouble, timeouts, 5xx: try again after the normal pause
            result.wait = settings.FEED_POLL_SLEEP_SECONDS
        logger.warning("feed %s: %s; waiting %.1fs", channel.code, exc, result.wait)
        _state_update(channel, last_error=str(exc)[:2000], last_error_at=timezone.now())
        return result
    except (AuthError, NotConfigured) as exc:
        result.wait = settings.FEED_POLL_SLEEP_SECONDS * 6
        logger.error("feed %s: %s", channel.code, exc)
        _state_update(channel, last_error=str(exc)[:2000], last_error_at=timezone.now())
        return result
    except RemoteError as exc:
        result.wait = settings.FEED_POLL_SLEEP_SECONDS
        logger.error("feed %s: %s", channel.code, exc)
        _state_update(channel, last_error=str(exc)[:2000], last_error_at=timezone.now())
        return result
    level = logging.INFO if result.retrieved else logging.DEBUG
    logger.log(
        level,
        "feed %s: %d item(s), %d new, %d duplicate(s), committed %d",
        channel.code,
        result.retrieved,
        result.new,
        result.retrieved - result.new,
        result.retrieved,
    )
    _success_record(channel, result)
    return result


class _SuccessLog:
    """The poll state's success fields, written at most every FEED_STATE_WRITE_SECONDS while batches
    come back full, and at once when one does not (the poller is about to sleep, or stops).

    A stall is judged in minutes (FEED_STALE_AFTER_SECONDS), so a second's delay costs nothing, while
    a write per batch is a database transaction every few tens of milliseconds during a burst.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[SalesChannel, int, int, object]] = {}  # pk → channel, new, size, at
        self._written_at: dict[int, float] = {}

    def record(self, channel: SalesChannel, result: BatchResult) -> None:
        now = time.monotonic()
        with self._lock:
            _, new, _, _ = self._pending.get(channel.pk, (channel, 0, 0, None))
            self._pending[channel.pk] = (channel, new + result.new, result.retrieved, timezone.now())
            written_at = self._written_at.get(channel.pk)  # monotonic time starts near 0 at boot: no 0.0 default
            due = not result.full or written_at is None or now - written_at >= settings.FEED_STATE_WRITE_SECONDS
        if due:
            self.flush(channel.pk)

    def flush(self, channel_pk: int | None = None) -> None:
        with self._lock:
            keys = [channel_pk] if channel_pk is not None else list(self._pending)
            entries = [self._pending.pop(key) for key in keys if key in self._pending]
            for key in keys:
                self._written_at[key] = time.monotonic()
        for channel, new, size, at in entries:
            success = {"last_success_at": at, "last_batch_size": size, "poller": _poller_name()}
            # The row is created on the channel's first poll only.
            if not FeedPollState.objects.filter(channel=channel).update(
                events_stored=F("events_stored") + new, **success
            ):
                FeedPollState.objects.update_or_create(channel=channel, defaults={"events_stored": new, **success})


_success_log = _SuccessLog()


def _success_record(channel: SalesChannel, result: BatchResult) -> None:
    _success_log.record(channel, result)


def feed_channels(*, channel_code: str | None = None) -> list[SalesChannel]:
    """Active channels with order download on (re-read every round: toggles apply without a restart)."""
    channels = selectors.sales_channels_active()
    if channel_code:
        channels = [c for c in channels if c.code == channel_code]
    return [c for c in channels if selectors.transfer_enabled(channel=c, sync_type=SyncType.ORDER_DOWNLOAD)]


ONCE_RETRIES = 3  # waits --once sits out per channel before it leaves that channel for the next run


@dataclass(frozen=True)
class _Pause:
    until: float  # time.monotonic() before which the channel is not polled
    streak: int  # waits in a row

    @classmethod
    def after(cls, previous: _Pause | None, *, wait: float) -> _Pause:
        streak = previous.streak + 1 if previous is not None else 1
        seconds = min(wait * 2 ** (streak - 1), max(wait, settings.SYNC_RETRY_MAX_SECONDS))
        return cls(until=time.monotonic() + seconds, streak=streak)


@dataclass
class PollReport:
    batches: int = 0
    retrieved: int = 0
    new: int = 0
    standby_rounds: int = 0
    accounts: set[str] = field(default_factory=set)


class _Clients:
    """One VTEX client per channel for the poller's lifetime, so batches reuse its keep-alive
    connection (a new client per batch opened a new TCP connection to VTEX for every 10 items).
    Channels are re-read every round: a changed account, URL, key, token or rate rebuilds the client."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[tuple, VtexClient]] = {}

    def get(self, channel: SalesChannel) -> VtexClient:
        key = (
            channel.vtex_account_name,
            channel.vtex_base_url,
            channel.vtex_app_key,
            channel.vtex_app_token,
            sorted((channel.vtex_rate_limits or {}).items()),
        )
        held = self._held.get(channel.pk)
        if held is None or held[0] != key:
            if held is not None:
                del self._held[channel.pk]
                held[1].close()
            held = self._held[channel.pk] = (key, vtex_client_for(channel))
        return held[1]

    def close_all(self) -> None:
        for _, client in self._held.values():
            client.close()
        self._held.clear()


class _AccountLocks:
    """The per-account poller locks this process holds; others' accounts are left alone (hot standby)."""

    def __init__(self) -> None:
        self.held: dict[str, object] = {}
        self.extended_at: dict[str, float] = {}
        self.standby_logged: set[str] = set()

    def acquire(self, account: str) -> bool:
        lock = self.held.get(account)
        try:
            if lock is not None:
                # Extend the lease at most once a second during a burst, not on every batch (a Redis
                # round trip per 10 items); every batch still starts with nearly the whole lease.
                if time.monotonic() - self.extended_at[account] < min(1.0, settings.FEED_POLL_LOCK_SECONDS / 3):
                    return True
                try:
                    lock.reacquire()
                    self.extended_at[account] = time.monotonic()
                    return True
                except LockError:  # the lease ran out and someone else took it
                    del self.held[account]
            lock = redis_connection().lock(
                POLL_LOCK.format(account=account), timeout=settings.FEED_POLL_LOCK_SECONDS, blocking=False
            )
            if lock.acquire(blocking=False):
                self.held[account] = lock
                self.extended_at[account] = time.monotonic()
                self.standby_logged.discard(account)
                logger.info("feed poller %s: active for VTEX account %s", _poller_name(), account)
                return True
        except RedisError as exc:
            logger.warning("feed poller: Redis unavailable (%s); not polling %s", exc, account)
            return False
        if account not in self.standby_logged:
            logger.info(
                "feed poller %s: standby for VTEX account %s (another poller is active)", _poller_name(), account
            )
            self.standby_logged.add(account)
        return False

    def extend_all(self) -> None:
        """Extend every lease held now (before and while waiting, so a standby never takes over from a
        poller that is only sleeping or backing off)."""
        for account in list(self.held):
            self.extended_at[account] = float("-inf")
            self.acquire(account)

    def wait(self, stop: threading.Event, seconds: float) -> None:
        """Wait ``seconds`` (or until stopped) in slices of a third of the lease, extending between them."""
        deadline = time.monotonic() + seconds
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            self.extend_all()
            stop.wait(min(left, settings.FEED_POLL_LOCK_SECONDS / 3))

    def release_all(self) -> None:
        for lock in self.held.values():
            with contextlib.suppress(LockError, RedisError):
                lock.release()
        self.held.clear()


def feed_poll(
    *,
    channel_code: str | None = None,
    once: bool = False,
    stop: threading.Event | None = None,
    sleep_seconds: float | None = None,
    on_batch: Callable[[SalesChannel, BatchResult], None] | None = None,
) -> PollReport:
    """Poll every channel's feed until ``stop`` is set (or, with ``once``, until no batch comes back full).

    ``stop`` is checked between batches only: a batch that started is stored and committed before the
    poller exits, which is what SIGTERM relies on.
    """
    stop = stop or threading.Event()
    sleep_seconds = settings.FEED_POLL_SLEEP_SECONDS if sleep_seconds is None else sleep_seconds
    report = PollReport()
    locks = _AccountLocks()
    clients = _Clients()
    channels, read_at, burst = [], 0.0, False
    # A channel told to wait (429, refused credentials, a VTEX outage) waits alone; the others go on at
    # their own pace. Waits in a row double (reference/vtex.md §9: exponential back-off for repeats).
    pauses: dict[int, _Pause] = {}
    try:
        while not stop.is_set():
            # Re-read every round, so toggles apply without a restart; during a burst (no sleep between
            # rounds) at most every FEED_CHANNELS_REFRESH_SECONDS: two queries per 10 items cost more
            # than storing them.
            if not burst or time.monotonic() - read_at >= settings.FEED_CHANNELS_REFRESH_SECONDS:
                channels, read_at = feed_channels(channel_code=channel_code), time.monotonic()
                listed = {channel.pk for channel in channels}
                pauses = {pk: pause for pk, pause in pauses.items() if pk in listed}  # removed or switched off
            any_full = False
            standby: set[int] = set()  # channels whose account another poller holds this round
            for channel in channels:
                if stop.is_set():
                    break
                pause = pauses.get(channel.pk)
                if pause is not None and pause.until > time.monotonic():
                    continue
                account = channel.vtex_account_name
                if not locks.acquire(account):
                    report.standby_rounds += 1
                    standby.add(channel.pk)
                    continue
                report.accounts.add(account)
                try:
                    client = clients.get(channel)
                except NotConfigured:
                    client = None  # feed_batch_poll reports it like every other batch
                result = feed_batch_poll(channel=channel, client=client)
                report.batches += 1
                report.retrieved += result.retrieved
                report.new += result.new
                any_full = any_full or result.full
                if result.wait:
                    pauses[channel.pk] = _Pause.after(pause, wait=result.wait)
                else:
                    pauses.pop(channel.pk, None)
                if on_batch:
                    on_batch(channel, result)
            burst = any_full
            if any_full:
                for account in list(locks.held):  # at most once a second each: a paused account's lease
                    locks.acquire(account)  # too, or a standby takes it over and ignores its wait
                continue  # more is waiting: no sleep
            now = time.monotonic()
            # --once reads a paused channel to its end after its wait, but gives up on one that keeps failing.
            # For --once a wait already used up still counts (else leaving a channel after one try would
            # depend on the machine's speed), unless another poller holds the account: nothing to retry.
            waiting = [
                p.until
                for pk, p in pauses.items()
                if (p.until > now or (once and pk not in standby)) and not (once and p.streak > ONCE_RETRIES)
            ]
            if once and not waiting:
                break
            nap = sleep_seconds if not waiting else max(0.0, min(waiting) - now)
            locks.wait(stop, nap if once else min(nap, sleep_seconds))
    finally:
        _success_log.flush()
        clients.close_all()
        locks.release_all()
    return report
