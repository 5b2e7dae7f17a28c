"""sync.remotes: the clients as the jobs get them, wired with the remotes' own rules."""

import time
import uuid

import pytest
import responses

from sync.clients.errors import RetryableError
from sync.remotes import vario_client
from tests.support.fixtures import load_fixture

BASE = "https://acme.vario.cloud"
TOKEN_URL = "https://sso.vario.cloud/realms/acme/protocol/openid-connect/token"
API = f"{BASE}/api/vario"
QUERY = f"{API}/cmn/computed-queries/execute"


@pytest.fixture
def vario_settings(settings, redis_conn):
    settings.VARIO_BASE_URL = BASE
    settings.VARIO_TOKEN_URL = TOKEN_URL
    # A client id of its own per test: it scopes the limiter's window and the cached token.
    settings.VARIO_CLIENT_ID = f"portal-{uuid.uuid4().hex[:8]}"
    settings.VARIO_CLIENT_SECRET = "CLIENT-SECRET"
    settings.VARIO_APP_IDENTIFIER = "app-uuid"
    settings.VARIO_REFRESH_TOKEN = "REFRESH-TOKEN"
    settings.LIMITER_MARGIN_SECONDS = 0
    responses.post(TOKEN_URL, json={"access_token": "ACCESS", "expires_in": 300, "token_type": "Bearer"})
    return settings


@responses.activate
def test_varios_routes_share_one_window(vario_settings):
    vario_settings.VARIO_RATE = "2/5"
    vario_settings.LIMITER_MAX_WAIT_SECONDS = 0
    responses.get(f"{API}/erp/documents/2044", json=load_fixture("vario/document__delivery_note"))
    responses.post(QUERY, json={"data": []})
    vario = vario_client()

    vario.get_document("2044")  # the token call before it has its own budget (the SSO server)
    vario.execute_vql("SELECT id FROM article.queryArticles LIMIT 1")

    with pytest.raises(RetryableError, match="rate limit 2/5"):
        vario.get_shipment("3301")
    assert not any("/vds/" in call.request.url for call in responses.calls)


@responses.activate
def test_a_vario_429_on_one_route_holds_back_the_others(vario_settings):
    vario_settings.LIMITER_MAX_WAIT_SECONDS = 1
    responses.get(f"{API}/erp/documents/2044", status=429, headers={"Retry-After": "30"}, json={"status": 429})
    vario = vario_client()
    with pytest.raises(RetryableError):
        vario.get_document("2044")
    calls_before = len(responses.calls)

    with pytest.raises(RetryableError, match="Retry-After") as exc_info:
        vario.execute_vql("SELECT id FROM article.queryArticles LIMIT 1")

    assert 25 < exc_info.value.retry_after <= 30
    assert len(responses.calls) == calls_before  # nothing was sent inside VARIO's block


@responses.activate
def test_a_vario_429_without_retry_after_backs_off_from_varios_base_not_vtexs_minute(vario_settings):
    vario_settings.RETRY_AFTER_DEFAULT_SECONDS = 60  # VTEX's minute: more than the limiter would wait
    vario_settings.VARIO_429_BACKOFF_SECONDS = 0.1
    vario_settings.LIMITER_MAX_WAIT_SECONDS = 2
    url = f"{API}/erp/documents/2044"
    responses.get(url, status=429, json={"status": 429, "message": "Too Many Requests"})
    responses.get(url, status=429, json={"status": 429, "message": "Too Many Requests"})
    responses.get(url, json=load_fixture("vario/document__delivery_note"))

    started = time.monotonic()
    document = vario_client().get_document("2044")

    assert time.monotonic() - started >= 0.29  # 0.1 + 0.2 waited out in place, every worker blocked
    assert document.id == "2044"
    statuses = [call.response.status_code for call in responses.calls if call.request.url == url]
    assert statuses == [429, 429, 200]


def test_varios_back_off_is_the_references_1_2_4_8_seconds_in_5_tries():
    from django.conf import settings

    assert (settings.VARIO_429_BACKOFF_SECONDS, settings.VARIO_429_MAX_TRIES) == (1.0, 5)


@responses.activate
def test_the_vario_client_gets_the_previous_client_secret_for_a_rotation(vario_settings):
    vario_settings.VARIO_CLIENT_SECRET_PREVIOUS = "OLD-SECRET"

    assert vario_client()._credentials.client_secret_previous == "OLD-SECRET"
