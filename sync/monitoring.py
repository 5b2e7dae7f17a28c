"""Watching the inbound machinery from outside: stale feed polls and vanished VTEX hooks.

Both fail silently. A stalled poller (process down, standby everywhere, VTEX refusing it) stores
nothing and raises nothing; VTEX deletes a hook that got no notification for 3 days and tells no one
(reference/vtex.md §1.9). So:

- ``feed_poll_staleness``: per polling channel, whether its last successful poll is older than
  ``FEED_STALE_AFTER_SECONDS``. Read by ``GET /healthz/feed`` (503 when any is stale),
  ``manage.py check_feed`` (exit 1), the admin, and ``feed_stale_alert_job`` (one ERROR line per
  stale channel, for log-based alerting).
- ``hook_configs_check``: per channel with a hook URL, whether VTEX still has that hook; recreated
  (and a WARNING logged) when it vanished or points elsewhere.

The two ``*_job`` functions are run by RQ cron only (sync/cron.py): they have no enqueue helper and
no sweep marker, so they live with their services rather than in sync/jobs.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from mappings import selectors
from mappings.models import SalesChannel, SyncType
from portal.redaction import MASK, redact_text
from sync.clients.errors import RemoteError, RetryableError
from sync.clients.vtex import VtexClient
from sync.feed import feed_channels, hook_configure
from sync.models import FeedPollState
from sync.remotes import NotConfigured, vtex_client_for

logger = logging.getLogger(__name__)
ERROR_EXCERPT_CHARS = 200  # enough to recognise the error; the admin has the whole text


# --- stale feed polls ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedPollHealth:
    channel_code: str
    last_success_at: datetime | None
    age_seconds: float | None  # since the last successful poll; None: never polled
    stale: bool
    stale_after_seconds: int
    last_error: str  # redacted excerpt
    last_error_at: datetime | None

    def as_dict(self, *, details: bool = False) -> dict[str, Any]:
        """What a monitor needs (which channel, stale or not, since when); the error only with ``details``:
        even redacted, a remote's message can name hosts and accounts."""
        report = {
            "code": self.channel_code,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "age_seconds": round(self.age_seconds, 1) if self.age_seconds is not None else None,
            "stale": self.stale,
        }
        if details:
            report["last_error"] = self.last_error
            report["last_error_at"] = self.last_error_at.isoformat() if self.last_error_at else None
        return report

    def describe(self) -> str:
        """One line for the command and the log."""
        if self.last_success_at is None:
            polled = "never polled"
        else:
            polled = f"last successful poll {self.age_seconds:.0f}s ago ({self.last_success_at.isoformat()})"
        line = (
            f"{self.channel_code}: {'STALE' if self.stale else 'ok'}, {polled}; threshold {self.stale_after_seconds}s"
        )
        if self.last_error:
            when = self.last_error_at.isoformat() if self.last_error_at else "?"
            line += f"; last error at {when}: {self.last_error}"
        return line


def _error_excerpt(*, channel: SalesChannel, text: str) -> str:
    # Errors come from the remotes and are redacted by name already; the channel's own secrets are
    # masked by value too, as the excerpt reaches /healthz/feed (staff), the admin and check_feed.
    for secret in (channel.vtex_app_token, channel.vtex_hook_secret):
        if secret:
            text = text.replace(secret, MASK)
    text = " ".join(redact_text(text).split())  # one line
    return text if len(text) <= ERROR_EXCERPT_CHARS else text[: ERROR_EXCERPT_CHARS - 1] + "…"


def _polling_since(channel: SalesChannel) -> datetime:
    """When the channel last became (or may have become) a polling channel.

    Neither activation nor the toggle keep their own timestamp, so the last save of the channel or of
    its order-download toggle stands in: conservative (an unrelated edit restarts the clock too), but a
    channel switched on a moment ago is never reported stale before the poller had a chance to poll it.
    """
    toggle = selectors.transfer_toggle_get(channel=channel, sync_type=SyncType.ORDER_DOWNLOAD)
    return max(t for t in (channel.created_at, channel.updated_at, toggle.updated_at if toggle else None) if t)


def _poll_health(
    *, channel: SalesChannel, state: FeedPollState | None, now: datetime, stale_after: int
) -> FeedPollHealth:
    last_success = state.last_success_at if state else None
    polling_since = _polling_since(channel)
    # The clock runs from the later of the last success and the moment polling began: a poll from
    # before the channel was switched off and on again says nothing about the poller now.
    since = max(last_success, polling_since) if last_success else polling_since
    return FeedPollHealth(
        channel_code=channel.code,
        last_success_at=last_success,
        age_seconds=(now - last_success).total_seconds() if last_success else None,
        stale=(now - since).total_seconds() > stale_after,
        stale_after_seconds=stale_after,
        last_error=_error_excerpt(channel=channel, text=state.last_error) if state else "",
        last_error_at=state.last_error_at if state else None,
    )


def feed_poll_staleness(*, now: datetime | None = None) -> list[FeedPollHealth]:
    """For each channel the poller polls (active, order download on), whether its poll is stale."""
    now = now or timezone.now()
    channels = feed_channels()
    states = {s.channel_id: s for s in FeedPollState.objects.filter(channel__in=channels)}
    return [
        _poll_health(
            channel=channel, state=states.get(channel.pk), now=now, stale_after=settings.FEED_STALE_AFTER_SECONDS
        )
        for channel in channels
    ]


def feed_poll_health_get(*, channel: SalesChannel, now: datetime | None = None) -> FeedPollHealth | None:
    """The staleness of one channel's poll; None when the channel is not polled at all."""
    if not feed_channels(channel_code=channel.code):
        return None
    return _poll_health(
        channel=channel,
        state=FeedPollState.objects.filter(channel=channel).first(),
        now=now or timezone.now(),
        stale_after=settings.FEED_STALE_AFTER_SECONDS,
    )


def feed_health_report(*, now: datetime | None = None, details: bool = False) -> dict[str, Any]:
    """The body of GET /healthz/feed: ``status`` is "ok", "stale" or "unavailable" (database down).

    Each channel's last error (and the database error's class) only with ``details`` (staff); the admin
    and ``check_feed`` show it too, and a database error is logged."""
    try:
        polls = feed_poll_staleness(now=now)
    except DatabaseError as exc:
        logger.warning("feed health: the database is unavailable: %s", exc)
        # The class name at most: a driver's message may carry host names or a connection string.
        return {"status": "unavailable", **({"error": type(exc).__name__} if details else {})}
    return {
        "status": "stale" if any(p.stale for p in polls) else "ok",
        "stale_after_seconds": settings.FEED_STALE_AFTER_SECONDS,
        "channels": [p.as_dict(details=details) for p in polls],
    }


def feed_stale_alert(*, now: datetime | None = None) -> list[FeedPollHealth]:
    """Log one ERROR line per stale channel (log-based alerting keys on it); returns the stale ones."""
    stale = [p for p in feed_poll_staleness(now=now) if p.stale]
    for poll in stale:
        logger.error("feed poll stale: %s", poll.describe())
    return stale


# --- VTEX hook configurations --------------------------------------------------------------------------


@dataclass(frozen=True)
class HookCheck:
    OK = "ok"
    RECREATED = "recreated"
    FAILED = "failed"

    channel_code: str
    url: str
    outcome: str
    detail: str = ""


def _configured_url(config: Any) -> str | None:
    # VTEX answers in camelCase; PascalCase is read too, as VTEX's hook payloads use it (reference §1.9).
    if not isinstance(config, dict):
        return None
    hook = config.get("hook") or config.get("Hook")
    if not isinstance(hook, dict):
        return None
    return hook.get("url") or hook.get("Url")


def hook_config_check(*, channel: SalesChannel, client: VtexClient | None = None) -> HookCheck:
    """Make sure VTEX's hook of ``channel`` still calls ``channel.vtex_hook_url``; recreate it if not.

    Only the URL is compared: whether VTEX echoes the secret header's value is unconfirmed, and
    comparing it could make every check reconfigure (and ping) the hook.
    """
    url = channel.vtex_hook_url
    vtex = client or vtex_client_for(channel)
    config = vtex.get_hook_config()
    current = _configured_url(config)
    if current == url:
        return HookCheck(channel_code=channel.code, url=url, outcome=HookCheck.OK)
    if config is None:
        detail = "VTEX had no hook configuration (it deletes one after 3 days without notifications)"
    else:
        detail = f"VTEX's hook called {redact_text(current or '(no URL)')}"
    try:
        hook_configure(channel=channel, url=url, client=vtex)
    except (NotConfigured, RemoteError) as exc:
        # Typically VTEX's ping of the URL failed (web down, URL moved) or the secret was removed.
        logger.error("hook %s: %s, and recreating it for %s failed: %s", channel.code, detail, url, exc)
        return HookCheck(channel_code=channel.code, url=url, outcome=HookCheck.FAILED, detail=f"{detail}; {exc}")
    logger.warning("hook %s: %s; recreated it for %s", channel.code, detail, url)
    return HookCheck(channel_code=channel.code, url=url, outcome=HookCheck.RECREATED, detail=detail)


def hook_configs_check() -> list[HookCheck]:
    """``hook_config_check`` for every active channel with order download on and a hook URL."""
    results = []
    for channel in feed_channels():
        if not channel.vtex_hook_url:
            continue
        try:
            results.append(hook_config_check(channel=channel))
        except (NotConfigured, RemoteError) as exc:
            # One channel's trouble must not keep the others unchecked. A busy or unreachable VTEX is
            # only a warning (the next run tries again); refused credentials need a person.
            level = logging.WARNING if isinstance(exc, RetryableError) else logging.ERROR
            logger.log(level, "hook %s: could not read VTEX's hook configuration: %s", channel.code, exc)
            results.append(
                HookCheck(
                    channel_code=channel.code, url=channel.vtex_hook_url, outcome=HookCheck.FAILED, detail=str(exc)
                )
            )
    return results


# --- periodic jobs (sync/cron.py) ----------------------------------------------------------------------


def feed_stale_alert_job() -> None:
    feed_stale_alert()


def hook_configs_check_job() -> None:
    hook_configs_check()
