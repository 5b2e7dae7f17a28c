import base64

import pytest

from sandbox.vario.seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN
from tests.support.sandbox_vario import TOKEN_PATH, Vario


@pytest.fixture
def vario(sim):
    return Vario(sim)


def test_refresh_token_grant_issues_a_bearer_access_token(vario):
    response = vario.grant()

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["access_token"]
    assert body["refresh_token"] == DEMO_REFRESH_TOKEN
    assert response["Cache-Control"] == "no-store"


def test_client_credentials_may_come_as_http_basic(vario):
    basic = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
    response = vario.client.post(
        TOKEN_PATH,
        {"grant_type": "refresh_token", "refresh_token": DEMO_REFRESH_TOKEN},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200


def test_wrong_refresh_token_is_an_invalid_grant(vario):
    response = vario.grant(refresh_token="stolen")
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}


def test_wrong_client_secret_is_unauthorized(vario):
    response = vario.grant(client_secret="guess")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized_client"


def test_unknown_client_is_an_invalid_client(vario):
    response = vario.grant(client_id="someone-else")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_other_grant_types_are_unsupported(vario):
    response = vario.grant(grant_type="password")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_a_json_body_is_not_a_token_request(vario):
    response = vario.client.post(TOKEN_PATH, {"grant_type": "refresh_token"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": "Missing form parameter: grant_type"}


def test_unknown_realm_is_404(vario):
    response = vario.client.post("/realms/nope/protocol/openid-connect/token", {"grant_type": "refresh_token"})
    assert response.status_code == 404


def test_access_token_works_until_it_expires_on_the_simulated_clock(vario):
    assert vario.get("/erp/articles/77").status_code == 200

    vario.client.post("/_sim/clock", {"advanceSeconds": 301}, content_type="application/json")

    response = vario.get("/erp/articles/77")
    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert "expired" in response.json()["message"]


def test_access_token_lifetime_is_configurable(vario):
    vario.control("credentials", {"accessTokenLifetime": 30}, expect=200)
    assert vario.grant().json()["expires_in"] == 30


def test_changed_refresh_token_invalidates_the_old_one(vario):
    vario.control("credentials", {"refreshToken": "rotated"}, expect=200)
    assert vario.grant().status_code == 400
    assert vario.grant(refresh_token="rotated").status_code == 200


def test_revoked_access_tokens_get_401(vario):
    token = vario.token
    vario.control("credentials", {"revokeAccessTokens": True}, expect=200)
    assert vario.get("/erp/articles/77", token=token).status_code == 401


def test_missing_user_agent_is_403_even_with_a_valid_token(vario):
    response = vario.get("/erp/articles/77", user_agent=None)
    assert response.status_code == 403
    assert response.json() == {"status": 403, "message": "Forbidden: the User-Agent header is required"}


def test_missing_bearer_token_is_401(vario):
    response = vario.get("/erp/articles/77", token=None)
    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_unknown_bearer_token_is_401(vario):
    assert vario.get("/erp/articles/77", token="made-up").status_code == 401


def test_unknown_api_paths_still_require_auth_then_answer_404(vario):
    assert vario.get("/erp/nothing-here", token=None).status_code == 401
    response = vario.get("/erp/nothing-here")
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_post_without_json_content_type_is_415(vario):
    response = vario.client.post(
        "/api/vario/cmn/computed-queries/execute",
        "statement=SELECT",
        content_type="text/plain",
        **vario.headers(),
    )
    assert response.status_code == 415


def test_forty_requests_in_six_seconds_then_429_with_retry_after(vario):
    token = vario.token
    statuses = [vario.get("/erp/articles/77", token=token).status_code for _ in range(40)]
    assert statuses == [200] * 40

    limited = vario.get("/erp/articles/77", token=token)

    assert limited.status_code == 429
    assert limited.json() == {"status": 429, "message": "Too Many Requests"}
    assert 1 <= int(limited["Retry-After"]) <= 6


def test_the_token_endpoint_is_not_rate_limited(vario):
    statuses = {vario.grant().status_code for _ in range(45)}
    assert statuses == {200}
