"""Stale feed polls (service, /healthz/feed, check_feed, the periodic job) and the periodic hook check."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import django_rq
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.utils import timezone
from rq import SimpleWorker

from mappings.models import SalesChannel, SyncType, TransferToggle
from portal.cron import PortalCronScheduler
from sandbox.harness import VTEX_APP_KEY, VTEX_APP_TOKEN
from sync import monitoring
from sync import queue as sync_queue
from sync.feed import hook_configure
from sync.models import FeedPollState
from sync.monitoring import (
    HookCheck,
    feed_poll_staleness,
    feed_stale_alert_job,
    hook_configs_check,
    hook_configs_check_job,
)
from sync.remotes import vtex_client_for
from tests.factories import SalesChannelFactory

TOKEN = "TOKEN-SECRET-0042-do-not-leak"
HOOK_SECRET = "hook-s3cret-do-not-leak"
STALE_AFTER = 300
LONG_AGO = timedelta(days=1)


@pytest.fixture(autouse=True)
def stale_after(settings):
    settings.FEED_STALE_AFTER_SECONDS = STALE_AFTER


def polling_for(channel: SalesChannel, age: timedelta) -> SalesChannel:
    """Pretend the channel and its toggles were last saved ``age`` ago (update() leaves auto_now alone)."""
    then = timezone.now() - age
    SalesChannel.objects.filter(pk=channel.pk).update(created_at=then, updated_at=then)
    TransferToggle.objects.filter(channel=channel).update(created_at=then, updated_at=then)
    channel.refresh_from_db()
    return channel


def polled(channel: SalesChannel, ago: timedelta, **fields) -> FeedPollState:
    return FeedPollState.objects.create(channel=channel, last_success_at=timezone.now() - ago, **fields)


@pytest.fixture
def shop(db):
    return polling_for(SalesChannelFactory(code="shop", vtex_app_token=TOKEN, vtex_hook_secret=HOOK_SECRET), LONG_AGO)


def health_of(code: str):
    return {poll.channel_code: poll for poll in feed_poll_staleness()}.get(code)


# --- the staleness service ---------------------------------------------------------------------------------


def test_a_recent_poll_is_fresh(shop):
    polled(shop, timedelta(seconds=10))

    health = health_of("shop")

    assert health.stale is False
    assert 10 <= health.age_seconds < 20


def test_a_poll_older_than_the_threshold_is_stale(shop):
    polled(shop, timedelta(seconds=STALE_AFTER + 5))

    health = health_of("shop")

    assert health.stale is True
    assert health.age_seconds > STALE_AFTER


def test_the_threshold_comes_from_the_setting(shop, settings):
    polled(shop, timedelta(seconds=120))
    settings.FEED_STALE_AFTER_SECONDS = 60

    assert health_of("shop").stale is True


def test_a_channel_polling_for_long_that_never_polled_is_stale(shop):
    health = health_of("shop")

    assert (health.stale, health.last_success_at, health.age_seconds) == (True, None, None)


def test_a_channel_that_just_started_polling_is_not_stale_before_its_first_poll(db):
    SalesChannelFactory(code="new")

    assert health_of("new").stale is False


def test_switching_order_download_back_on_restarts_the_clock(shop):
    polled(shop, timedelta(days=3))  # polled, then switched off for days
    toggle = TransferToggle.objects.get(channel=shop, sync_type=SyncType.ORDER_DOWNLOAD)
    toggle.enabled = True
    toggle.save()

    assert health_of("shop").stale is False


def test_an_inactive_channel_is_not_watched(shop):
    polled(shop, LONG_AGO)
    shop.active = False
    shop.save()

    assert health_of("shop") is None


def test_a_channel_with_order_download_off_is_not_watched(shop):
    polled(shop, LONG_AGO)
    TransferToggle.objects.filter(channel=shop, sync_type=SyncType.ORDER_DOWNLOAD).update(enabled=False)

    assert health_of("shop") is None


def test_the_last_error_is_a_redacted_one_line_excerpt(shop):
    error = f"vtex GET /api/orders/feed → 401: bad\napptoken={TOKEN} secret {HOOK_SECRET} " + "x" * 500
    polled(shop, timedelta(seconds=10), last_error=error, last_error_at=timezone.now())

    excerpt = health_of("shop").last_error

    assert excerpt.startswith("vtex GET /api/orders/feed → 401: bad apptoken=")
    assert TOKEN not in excerpt and HOOK_SECRET not in excerpt and "\n" not in excerpt
    assert len(excerpt) <= 200


# --- GET /healthz/feed ---------------------------------------------------------------------------------------


def test_healthz_feed_is_200_with_every_channel_when_none_is_stale(client, shop):
    SalesChannelFactory(code="idle", active=False)
    polled(shop, timedelta(seconds=10))

    response = client.get("/healthz/feed")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["stale_after_seconds"]) == ("ok", STALE_AFTER)
    [channel] = body["channels"]
    assert channel["code"] == "shop" and channel["stale"] is False
    assert set(channel) == {"code", "last_success_at", "age_seconds", "stale"}


def test_healthz_feed_shows_the_last_error_to_staff_only(client, shop):
    polled(shop, LONG_AGO, last_error="vtex GET /api/orders/feed → 503: down", last_error_at=timezone.now())
    assert "last_error" not in client.get("/healthz/feed").json()["channels"][0]

    client.force_login(get_user_model().objects.create_user("operator", is_staff=True))
    [channel] = client.get("/healthz/feed").json()["channels"]

    assert channel["last_error"] == "vtex GET /api/orders/feed → 503: down" and channel["last_error_at"]


def test_healthz_feed_is_503_when_a_channel_is_stale(client, shop):
    polled(shop, timedelta(seconds=10))
    polling_for(SalesChannelFactory(code="stuck"), LONG_AGO)

    response = client.get("/healthz/feed")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "stale"
    assert {c["code"]: c["stale"] for c in body["channels"]} == {"shop": False, "stuck": True}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_feed_never_shows_a_secret_not_even_to_staff(client, shop):
    error = f'{{"X-VTEX-API-AppToken": "{TOKEN}"}} Authorization: Bearer abc.def {HOOK_SECRET}'
    polled(shop, LONG_AGO, last_error=error, last_error_at=timezone.now(), poller="host-7:4242")
    client.force_login(get_user_model().objects.create_user("operator", is_staff=True))

    body = client.get("/healthz/feed").content.decode()

    assert TOKEN not in body and HOOK_SECRET not in body and "abc.def" not in body
    assert shop.vtex_app_key not in body and "host-7" not in body


def test_healthz_feed_with_the_database_down_names_no_host_and_logs_why(client, db, monkeypatch, caplog):
    def down(**kwargs):
        raise OperationalError('connection to server at "db.internal" (10.0.0.5), port 5432 failed')

    monkeypatch.setattr(monitoring, "feed_poll_staleness", down)

    response = client.get("/healthz/feed")

    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})
    assert "feed health: the database is unavailable: connection to server at" in caplog.text
    client.force_login(get_user_model().objects.create_user("operator", is_staff=True))
    assert client.get("/healthz/feed").json() == {"status": "unavailable", "error": "OperationalError"}


def test_healthz_feed_without_polling_channels_is_200(client, db):
    response = client.get("/healthz/feed")

    assert (response.status_code, response.json()["channels"]) == (200, [])


def test_healthz_stays_200_while_the_feed_is_stale(client, shop, redis_conn):
    polled(shop, LONG_AGO)

    assert client.get("/healthz/feed").status_code == 503
    assert client.get("/healthz").status_code == 200


# --- manage.py check_feed ----------------------------------------------------------------------------------


def check_feed() -> str:
    out = io.StringIO()
    call_command("check_feed", stdout=out)
    return out.getvalue()


def test_check_feed_prints_a_line_per_channel_and_exits_0_when_fresh(shop):
    polled(shop, timedelta(seconds=10))
    polled(polling_for(SalesChannelFactory(code="outlet"), LONG_AGO), timedelta(seconds=30))

    lines = check_feed().splitlines()

    assert [line.split(":")[0] for line in lines] == ["outlet", "shop"]
    assert all(": ok, last successful poll" in line for line in lines)


def test_check_feed_exits_1_naming_the_stale_channels(shop):
    polled(shop, LONG_AGO, last_error="vtex GET /api/orders/feed → 503: down", last_error_at=timezone.now())
    out = io.StringIO()

    with pytest.raises(CommandError, match=r"stale for 1 of 1 channel.*: shop$") as raised:
        call_command("check_feed", stdout=out)

    assert raised.value.returncode == 1
    assert "shop: STALE, last successful poll 86" in out.getvalue()
    assert "last error at" in out.getvalue() and "503: down" in out.getvalue()


def test_check_feed_without_polling_channels_exits_0(db):
    assert "no channel polls the feed" in check_feed()


# --- the periodic stale check ------------------------------------------------------------------------------


def run_in_a_burst_worker(func) -> None:
    queue = django_rq.get_queue(sync_queue.QUEUE, commit_mode="auto")  # not deferred to the test's commit
    job = queue.enqueue(func)
    SimpleWorker([queue], connection=queue.connection, serializer=queue.serializer).work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result().exc_string if job.latest_result() else job.get_status()


def test_the_periodic_check_logs_an_error_line_per_stale_channel(shop, redis_conn, caplog):
    polled(shop, LONG_AGO)
    polled(polling_for(SalesChannelFactory(code="outlet"), LONG_AGO), timedelta(seconds=5))
    polling_for(SalesChannelFactory(code="never"), LONG_AGO)
    caplog.set_level(logging.INFO, logger="sync.monitoring")

    run_in_a_burst_worker(feed_stale_alert_job)

    errors = [r.getMessage() for r in caplog.records if r.name == "sync.monitoring" and r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert errors[0].startswith("feed poll stale: never: STALE, never polled")
    assert errors[1].startswith("feed poll stale: shop: STALE, last successful poll")


def test_the_periodic_check_logs_nothing_when_all_is_fresh(shop, redis_conn, caplog):
    polled(shop, timedelta(seconds=5))

    run_in_a_burst_worker(feed_stale_alert_job)

    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "sync.monitoring"]


def test_the_periodic_process_runs_both_checks_at_their_intervals(settings, redis_conn):
    settings.FEED_STALE_CHECK_INTERVAL_SECONDS = 45
    settings.VTEX_HOOK_CHECK_INTERVAL_SECONDS = 1800
    scheduler = PortalCronScheduler(connection=redis_conn)

    scheduler.load_config_from_file("sync.cron")

    intervals = {job.func: job.interval for job in scheduler.get_jobs()}
    assert intervals[feed_stale_alert_job] == 45
    assert intervals[hook_configs_check_job] == 1800


# --- the periodic hook check (sandbox over HTTP) -----------------------------------------------------------


@pytest.fixture
def hook_shop(db, sandbox_url, redis_conn, receiver):
    """The sandbox's demo account with a hook calling ``receiver`` (which answers VTEX's ping)."""
    channel = SalesChannelFactory(
        code="shop",
        vtex_account_name="demostore",
        vtex_base_url_override=sandbox_url,
        vtex_app_key=VTEX_APP_KEY,
        vtex_app_token=VTEX_APP_TOKEN,
        vtex_hook_secret=HOOK_SECRET,
    )
    hook_configure(channel=channel, url=f"{receiver.url}/webhooks/vtex/shop/orders")
    channel.refresh_from_db()
    return channel


def vtex_hook_url(channel) -> str | None:
    config = vtex_client_for(channel).get_hook_config()
    return config["hook"]["url"] if config else None


def hook_saves(live_sandbox) -> int:
    calls = live_sandbox.control("GET", "requests", params={"method": "POST", "path": "/api/orders/hook/config"})
    return len(calls.json())


def test_configuring_the_hook_records_its_url_on_the_channel(hook_shop, receiver):
    assert hook_shop.vtex_hook_url == f"{receiver.url}/webhooks/vtex/shop/orders"


def test_a_hook_vtex_deleted_for_being_idle_is_recreated_with_a_warning(hook_shop, live_sandbox, caplog):
    live_sandbox.control("POST", "clock", json={"advanceSeconds": 3 * 86400 + 60})  # 3 days without a notification
    assert vtex_hook_url(hook_shop) is None

    [check] = hook_configs_check()

    assert (check.channel_code, check.outcome) == ("shop", HookCheck.RECREATED)
    assert vtex_hook_url(hook_shop) == hook_shop.vtex_hook_url
    [warning] = [r for r in caplog.records if r.name == "sync.monitoring" and r.levelno == logging.WARNING]
    assert "VTEX had no hook configuration" in warning.getMessage()
    assert f"recreated it for {hook_shop.vtex_hook_url}" in warning.getMessage()


def test_a_hook_that_points_elsewhere_is_set_back(hook_shop, receiver):
    vtex = vtex_client_for(hook_shop)
    vtex.set_hook_config(statuses=["ready-for-handling"], url=f"{receiver.url}/somewhere-else", headers={"X": "y"})

    [check] = hook_configs_check()

    assert check.outcome == HookCheck.RECREATED and "somewhere-else" in check.detail
    assert vtex_hook_url(hook_shop) == hook_shop.vtex_hook_url


def test_a_correct_hook_is_left_alone(hook_shop, live_sandbox, receiver, caplog):
    saves, pings = hook_saves(live_sandbox), len(receiver.received)
    assert (saves, pings) == (1, 1)  # the fixture's configuration and VTEX's ping of it

    run_in_a_burst_worker(hook_configs_check_job)

    assert (hook_saves(live_sandbox), len(receiver.received)) == (saves, pings)
    assert not [r for r in caplog.records if r.name == "sync.monitoring" and r.levelno >= logging.WARNING]


def test_channels_without_a_hook_url_or_order_download_are_not_checked(hook_shop, live_sandbox):
    live_sandbox.control("POST", "clock", json={"advanceSeconds": 3 * 86400 + 60})
    TransferToggle.objects.filter(channel=hook_shop, sync_type=SyncType.ORDER_DOWNLOAD).update(enabled=False)
    SalesChannelFactory(code="no-hook", vtex_base_url_override=hook_shop.vtex_base_url_override)

    assert hook_configs_check() == []
    assert vtex_hook_url(hook_shop) is None


def test_a_hook_that_cannot_be_recreated_is_an_error_and_other_channels_are_still_checked(
    hook_shop, live_sandbox, receiver, caplog
):
    live_sandbox.control("POST", "clock", json={"advanceSeconds": 3 * 86400 + 60})
    receiver.status = 503  # VTEX's ping fails, so VTEX refuses to save the hook
    SalesChannelFactory(
        code="other",
        vtex_account_name="elsewhere",
        vtex_base_url_override=hook_shop.vtex_base_url_override,
        vtex_app_key="unknown-key",
        vtex_app_token="unknown-token",
        vtex_hook_url="https://portal.example.com/webhooks/vtex/other/orders",
    )

    checks = {check.channel_code: check for check in hook_configs_check()}

    assert checks["shop"].outcome == checks["other"].outcome == HookCheck.FAILED
    assert vtex_hook_url(hook_shop) is None
    errors = [r.getMessage() for r in caplog.records if r.name == "sync.monitoring" and r.levelno == logging.ERROR]
    assert any("shop: VTEX had no hook configuration" in e and "failed" in e for e in errors)
    assert any(e.startswith("hook other: could not read VTEX's hook configuration") for e in errors)
    assert not any(VTEX_APP_TOKEN in e or HOOK_SECRET in e for e in caplog.messages)
