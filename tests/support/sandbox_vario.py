"""Helpers for the VARIO simulator tests (imported by tests/sandbox/test_vario_*.py; no tests here)."""

from __future__ import annotations

from django.test import Client

from sandbox.vario.seed import (
    DEMO_APP_IDENTIFIER,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REFRESH_TOKEN,
    DEMO_TENANT,
)

TOKEN_PATH = f"/realms/{DEMO_TENANT}/protocol/openid-connect/token"
USER_AGENT = DEMO_APP_IDENTIFIER


def token_form(**overrides) -> dict:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": DEMO_REFRESH_TOKEN,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


class Vario:
    """Talks to the simulator like the portal's client: bearer token, User-Agent, JSON."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._token: str | None = None

    def grant(self, **overrides):
        return self.client.post(TOKEN_PATH, token_form(**overrides))

    @property
    def token(self) -> str:
        if self._token is None:
            response = self.grant()
            assert response.status_code == 200, response.content
            self._token = response.json()["access_token"]
        return self._token

    def headers(self, *, user_agent: str | None = USER_AGENT, token: str | None = "default") -> dict:
        headers = {}
        if user_agent is not None:
            headers["HTTP_USER_AGENT"] = user_agent
        if token is not None:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {self.token if token == 'default' else token}"
        return headers

    def get(self, path: str, **kwargs):
        return self.client.get(f"/api/vario{path}", **self.headers(**kwargs))

    def post(self, path: str, body, *, extra: dict | None = None, **kwargs):
        return self.client.post(
            f"/api/vario{path}", body, content_type="application/json", **self.headers(**kwargs), **(extra or {})
        )

    def query(self, statement: str, **paging):
        return self.post("/cmn/computed-queries/execute", {"statement": statement, **paging})

    def rows(self, statement: str, **paging) -> list[dict]:
        response = self.query(statement, **paging)
        assert response.status_code == 200, response.content
        return response.json()["data"]

    def control(self, path: str, body=None, *, expect: int | None = None):
        # No body is an empty body (what `requests.post(url)` sends), not the test client's empty form.
        response = self.client.post(
            f"/_sim/vario/{path}", "" if body is None else body, content_type="application/json"
        )
        if expect is not None:
            assert response.status_code == expect, response.content
        return response

    def order(self, lines=(("SKU-RED-M", 2),), **fields) -> dict:
        body = {"lines": [{"articleNumber": sku, "quantity": qty} for sku, qty in lines], **fields}
        return self.control("orders", body, expect=201).json()

    def state(self, order_id: str) -> dict:
        response = self.client.get(f"/_sim/vario/orders/{order_id}")
        assert response.status_code == 200, response.content
        return response.json()

    def register(self, event: str, url: str):
        body = {"url": url, "destinationQueue": event, "appIdentifier": DEMO_APP_IDENTIFIER}
        return self.post("/cmn/system/app-message-webhook/register", body)
