import logging

import pytest
import redis
from django.contrib.auth import get_user_model

from sandbox.harness import RedisServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_user("operator", is_staff=True))
    return client


@pytest.fixture
def stopped_redis(settings):
    """REDIS_URL pointing at a Redis that answered once and is gone now."""
    server = RedisServer().start()
    settings.REDIS_URL = server.url
    settings.REDIS_SOCKET_TIMEOUT = 0.5
    server.stop()
    return server


@pytest.fixture
def evicting_redis(settings):
    """REDIS_URL pointing at a private Redis set to evict keys under memory pressure."""
    server = RedisServer().start()
    try:
        redis.Redis.from_url(server.url).config_set("maxmemory-policy", "allkeys-lru")
        settings.REDIS_URL = server.url
        yield server
    finally:
        server.stop()


def test_healthz_is_200_when_database_and_redis_answer(client, redis_conn):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "up", "redis": "up"}}


def test_healthz_tells_an_anonymous_caller_only_that_redis_is_down(client, stopped_redis, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.health"):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "up", "redis": "down"}}
    body = response.content.decode()
    assert str(stopped_redis.port) not in body and "127.0.0.1" not in body and "Error" not in body
    # The reason is in the log, for operators.
    assert "health check: redis is down: ConnectionError" in caplog.text


def test_healthz_tells_staff_why_redis_is_down(staff_client, stopped_redis):
    response = staff_client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "up", "redis": "down"}
    assert body["details"]["redis"].startswith("ConnectionError: ")
    assert "database" not in body["details"]


def test_healthz_gives_no_details_to_a_logged_in_user_who_is_not_staff(client, stopped_redis):
    client.force_login(get_user_model().objects.create_user("customer"))

    assert "details" not in client.get("/healthz").json()


def test_healthz_reports_an_evicting_redis_as_down_and_tells_staff_why(client, evicting_redis):
    anonymous = client.get("/healthz")
    assert anonymous.status_code == 503
    assert anonymous.json() == {"status": "unavailable", "checks": {"database": "up", "redis": "down"}}

    client.force_login(get_user_model().objects.create_user("operator", is_staff=True))
    details = client.get("/healthz").json()["details"]

    assert details == {"redis": "maxmemory-policy is allkeys-lru; RQ needs noeviction"}


def test_healthz_is_not_cached(client, redis_conn):
    response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"]
