import pytest

from tests.plugins.redis_server import RedisServer


@pytest.mark.django_db
def test_healthz_is_200_when_database_and_redis_answer(client, redis_conn):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": {"ok": True}, "redis": {"ok": True}}}


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_down(client, settings):
    server = RedisServer().start()
    settings.REDIS_URL = server.url
    settings.REDIS_SOCKET_TIMEOUT = 0.5
    try:
        assert client.get("/healthz").status_code == 200
    finally:
        server.stop()

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["redis"]["ok"] is False
    assert "ConnectionError" in body["checks"]["redis"]["error"]


@pytest.mark.django_db
def test_healthz_is_not_cached(client, redis_conn):
    response = client.get("/healthz")
    assert "no-cache" in response["Cache-Control"]
