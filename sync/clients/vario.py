"""VARIO ERP client (reference/vario-erp.md §4): token refresh, documents, shipments, VQL, webhooks.

The access token comes from the refresh-token grant and is shared by all workers through Redis for
90 % of its lifetime; a 401 drops it and the call is retried once with a fresh one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import redis
from django.views.decorators.debug import sensitive_variables

from sync.clients.dtos import ErpDocument, ErpShipment, QueryPage
from sync.clients.errors import AuthError, NotFoundError, PayloadError, RejectedError
from sync.clients.http import HttpClient, Recorder
from sync.clients.limiter import RemoteLimiter

API_PREFIX = "/api/vario"
# Sent with every call that changes ERP data (reference §1.9): VARIO then does not call the portal's own
# webhooks for the change the portal just made. Reads do not send it: they change nothing.
SUPPRESS_OWN_WEBHOOKS = {"x-vario-suppress-own-webhooks": "true"}
TOKEN_CACHE_KEY = "portal:vario:token:{client_id}"  # noqa: S105 - a Redis key name
# The token endpoint's "error" when it refuses the client's credentials (reference/vario-erp.md §1.3,
# §4.1: Keycloak, RFC 6749 §5.2 {"error", "error_description"}). RFC 6749 names it invalid_client;
# Keycloak has answered a wrong client secret with unauthorized_client ("Invalid client or Invalid
# client credentials") in many versions, and the simulator with invalid_client.
CLIENT_REFUSED = frozenset({"invalid_client", "unauthorized_client"})
# Where an imported order carries its VTEX order id (reference §4.2, §4.5).
EXTERNAL_ID_FIELDS = ("custom.vtexportal.externalOrderId", "externalIdentifier")
_SAFE_LITERAL = re.compile(r"^[A-Za-z0-9 _.:@+-]*$")
logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _token_store(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


def vario_error(body: Any) -> tuple[str, str]:
    """VARIO errors: {"status", "message"}; the token endpoint: {"error", "error_description"}."""
    if isinstance(body, Mapping):
        if "error_description" in body or ("error" in body and isinstance(body.get("error"), str)):
            return str(body.get("error") or ""), str(body.get("error_description") or body.get("error") or "")
        return str(body.get("code") or ""), str(body.get("message") or "")
    return "", ""


def vql_literal(value: str) -> str:
    """A quoted VQL string literal. VQL's escaping is undocumented, so only safe characters pass."""
    if not _SAFE_LITERAL.match(value):
        raise ValueError(f"Refusing to put {value!r} into a VQL statement: unexpected characters")
    return f"'{value}'"


@dataclass(frozen=True)
class VarioCredentials:
    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    app_identifier: str
    refresh_token: str
    # During a rotation of the client secret (docs/operations.md "Rotating secrets"): the old one,
    # tried once when the token endpoint refuses the client.
    client_secret_previous: str = ""

    def __repr__(self) -> str:  # never print the secrets
        return f"VarioCredentials(base_url={self.base_url!r}, client_id={self.client_id!r})"


class VarioClient:
    remote = "vario"

    @sensitive_variables("credentials")
    def __init__(
        self,
        *,
        credentials: VarioCredentials,
        timeout: tuple[float, float],
        redis_url: str,
        limiter: RemoteLimiter | None = None,
        recorder: Recorder | None = None,
        session=None,
        # A 429 without Retry-After (VARIO documents none) waits 1 s, 2 s, 4 s, 8 s: at most 5 tries
        # in all, as reference §4.1 says a VARIO client backs off.
        backoff_429_base: float = 1.0,
        max_429_tries: int = 5,
    ) -> None:
        self._credentials = credentials
        self._redis = _token_store(redis_url)
        self._token_key = TOKEN_CACHE_KEY.format(client_id=credentials.client_id)
        self.http = HttpClient(
            remote=self.remote,
            base_url=credentials.base_url.rstrip("/") + API_PREFIX,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                # VARIO answers 403 without a User-Agent; the app framework sends the app identifier.
                "User-Agent": credentials.app_identifier,
            },
            timeout=timeout,
            error_reader=vario_error,
            limiter=limiter,
            recorder=recorder,
            session=session,
            backoff_429_base=backoff_429_base,
            max_429_tries=max_429_tries,
        )

    def close(self) -> None:
        """Close the pooled connections (callers that make a client for a batch of work)."""
        self.http.close()

    # --- Auth ----------------------------------------------------------------------------------------

    @sensitive_variables("client_secret")
    def _token_grant(self, client_secret: str) -> Any:
        c = self._credentials
        return self.http.request_json(
            "POST",
            "/token",
            url=c.token_url,
            route="token",
            form={
                "grant_type": "refresh_token",
                "refresh_token": c.refresh_token,
                "client_id": c.client_id,
                "client_secret": client_secret,
            },
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            read=True,  # a POST that changes nothing in the ERP: a dry run gets its token too
        )

    def _access_token(self) -> str:
        cached = self._redis.get(self._token_key)
        if cached:
            return cached.decode()
        c = self._credentials
        try:
            data = self._token_grant(c.client_secret)
        except RejectedError as exc:
            # Between setting the new secret here and changing it in VARIO (or back, if VARIO's change
            # is undone), the SSO server knows only the previous one: try it once.
            if not c.client_secret_previous or exc.code not in CLIENT_REFUSED:
                raise
            data = self._token_grant(c.client_secret_previous)
            logger.warning(
                "VARIO's token endpoint refused VARIO_CLIENT_SECRET (%s) and accepted VARIO_CLIENT_SECRET_PREVIOUS: "
                "finish the rotation in VARIO (docs/operations.md 'Rotating secrets')",
                exc.code,
            )
        try:
            token = str(data["access_token"])
            lifetime = float(data.get("expires_in") or 60)
        except (KeyError, TypeError, ValueError):
            raise PayloadError("token endpoint answered without access_token", remote=self.remote) from None
        self._redis.set(self._token_key, token, px=max(int(lifetime * 0.9 * 1000), 1))
        return token

    def drop_token(self) -> None:
        self._redis.delete(self._token_key)

    def _send(self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs):
        extra = dict(headers or {})
        # Outside the try: a refusal by the token endpoint is no expired access token to drop and refresh.
        token = self._access_token()
        try:
            return self.http.request(method, path, headers={**extra, "Authorization": f"Bearer {token}"}, **kwargs)
        except AuthError as exc:
            if exc.status != 401:
                raise
        self.drop_token()  # expired or revoked: refresh once and try again
        return self.http.request(
            method, path, headers={**extra, "Authorization": f"Bearer {self._access_token()}"}, **kwargs
        )

    def _call(self, method: str, path: str, **kwargs) -> Any:
        return self.http.json_of(self._send(method, path, **kwargs), method, path)

    # --- Documents and shipments -------------------------------------------------------------------

    def get_document(self, document_id: str) -> ErpDocument:
        path = f"/erp/documents/{quote(str(document_id), safe='')}"
        return self.http.parse(ErpDocument.from_json, self._call("GET", path, route="documents"), "GET", path)

    def get_shipment(self, shipment_id: str) -> ErpShipment:
        path = f"/vds/shipment/{quote(str(shipment_id), safe='')}"
        return self.http.parse(ErpShipment.from_json, self._call("GET", path, route="shipments"), "GET", path)

    def create_document(self, request: Mapping[str, Any]) -> ErpDocument:
        path = "/erp/documents"
        data = self._call("POST", path, route="documents", json_body=dict(request), headers=SUPPRESS_OWN_WEBHOOKS)
        return self.http.parse(lambda d: ErpDocument.from_json(d["document"]), data, "POST", path)

    def run_transition(self, document_id: str, transition_id: str) -> ErpDocument:
        """PUT /erp/documents/{id}/states {"transitionId"}: e.g. "dissolve" cancels an order (reference §1.4)."""
        path = f"/erp/documents/{quote(str(document_id), safe='')}/states"
        data = self._call(
            "PUT", path, route="documents", json_body={"transitionId": transition_id}, headers=SUPPRESS_OWN_WEBHOOKS
        )
        if isinstance(data, Mapping) and isinstance(data.get("document"), Mapping):
            return self.http.parse(lambda d: ErpDocument.from_json(d["document"]), data, "PUT", path)
        # The answer's body is not documented (reference §1.4): the transition was applied, so read the
        # document as it is now rather than fail a done transition on an unexpected shape.
        return self.get_document(str(document_id))

    # --- VQL -----------------------------------------------------------------------------------------

    def execute_vql(self, statement: str, *, limit: int = 100, offset: int = 0) -> QueryPage:
        path = "/cmn/computed-queries/execute"
        body = {
            "statement": statement,
            "variableSubstitutionList": {"variableSubstitutions": []},
            "limit": limit,
            "offset": offset,
        }
        # A POST that only reads (reference §4.5): a dry run sends it too.
        response = self._send("POST", path, route="query", json_body=body, read=True)
        data = self.http.json_of(response, "POST", path) or {}
        more = response.headers.get("x-query-more-elements", "false").strip().lower() == "true"
        next_offset = response.headers.get("x-query-next-offset")
        return self.http.parse(
            lambda d: QueryPage(
                rows=tuple(d.get("data") or ()),
                more=more,
                next_offset=int(next_offset) if next_offset not in (None, "") else None,
            ),
            data,
            "POST",
            path,
        )

    def find_order_by_external_id(self, *, sales_channel_id: str, external_id: str) -> ErpDocument | None:
        """Look the order up by the VTEX order id stored on it (reference §4.5); None when absent."""
        statement = (
            "SELECT id FROM document.querySalesDocuments "
            "WHERE documentTypeCategory = 'CUSTOMER_ORDER' "
            f"AND custom.vtexportal.externalOrderId = {vql_literal(external_id)}"
            + (f" AND salesChannel.id = {vql_literal(sales_channel_id)}" if sales_channel_id else "")
            + " LIMIT 1"
        )
        page = self.execute_vql(statement, limit=1)
        if not page.rows:
            return None
        return self.get_document(str(page.rows[0]["id"]))

    def find_order_by_number(self, number: str) -> ErpDocument | None:
        statement = (
            "SELECT id FROM document.querySalesDocuments WHERE documentTypeCategory = 'CUSTOMER_ORDER' "
            f"AND number = {vql_literal(number)} LIMIT 1"
        )
        page = self.execute_vql(statement, limit=1)
        return self.get_document(str(page.rows[0]["id"])) if page.rows else None

    def find_article_id(self, sku: str) -> str | None:
        statement = f"SELECT id FROM article.queryArticles WHERE articleNumber = {vql_literal(sku)} LIMIT 1"
        page = self.execute_vql(statement, limit=1)
        return str(page.rows[0]["id"]) if page.rows else None

    def find_article_id_by_ean(self, ean: str) -> str | None:
        statement = f"SELECT id FROM article.queryArticles WHERE ean = {vql_literal(ean)} LIMIT 1"
        page = self.execute_vql(statement, limit=1)
        return str(page.rows[0]["id"]) if page.rows else None

    def find_order_ref_by_external_id(
        self, *, sales_channel_id: str, external_id: str, field: str = "custom.vtexportal.externalOrderId"
    ) -> tuple[str, str] | None:
        """(id, number) of the customer order carrying this VTEX order id, without fetching the document.

        The import writes the id to both the custom field and ``externalIdentifier`` (reference §4.2);
        ``field`` picks which one to search.
        """
        if field not in EXTERNAL_ID_FIELDS:
            raise ValueError(f"not an external-id field: {field}")
        statement = (
            "SELECT id, number FROM document.querySalesDocuments "
            "WHERE documentTypeCategory = 'CUSTOMER_ORDER' "
            f"AND {field} = {vql_literal(external_id)}"
            + (f" AND salesChannel.id = {vql_literal(sales_channel_id)}" if sales_channel_id else "")
            + " ORDER BY id LIMIT 1"
        )
        page = self.execute_vql(statement, limit=1)
        if not page.rows:
            return None
        return str(page.rows[0]["id"]), str(page.rows[0].get("number") or "")

    def find_follow_up_ids(self, *, order_number: str, categories: tuple[str, ...]) -> list[str]:
        """Ids of the documents of these categories (delivery notes, goods returns) made from an order.

        One query for all categories: VARIO allows 40 calls per 6 s for everything the portal does.
        """
        wanted = ", ".join(vql_literal(category) for category in categories)
        statement = (
            "SELECT id FROM document.querySalesDocuments "
            f"WHERE documentTypeCategory IN ({wanted}) "
            f"AND referencedOrderNumber = {vql_literal(order_number)} ORDER BY id"
        )
        return [str(row["id"]) for row in self.query_all(statement)]

    def find_shipment_ids(self, *, document_ids: list[str]) -> list[str]:
        if not document_ids:
            return []
        ids = ", ".join(vql_literal(str(i)) for i in document_ids)
        statement = f"SELECT id FROM vds.queryShipments WHERE documentId IN ({ids}) ORDER BY id"
        return [str(row["id"]) for row in self.query_all(statement)]

    def query_all(self, statement: str, *, page_size: int = 100) -> list[Mapping[str, Any]]:
        rows: list[Mapping[str, Any]] = []
        offset = 0
        while True:
            page = self.execute_vql(statement, limit=page_size, offset=offset)
            rows.extend(page.rows)
            if not page.more or page.next_offset is None or page.next_offset <= offset or not page.rows:
                return rows  # also when VARIO's paging would not move on: never loop on one page
            offset = page.next_offset

    # --- Custom fields (EAV) ----------------------------------------------------------------------------

    def get_eav_group(self, key: str) -> Mapping[str, Any] | None:
        """GET /cmn/eav-groups/by-key/{key} (reference §1.4); None when the tenant has no such group."""
        path = f"/cmn/eav-groups/by-key/{quote(key, safe='')}"
        try:
            return self._call("GET", path, route="eav") or {}
        except NotFoundError:
            return None

    def create_eav_group(self, group: Mapping[str, Any]) -> Mapping[str, Any]:
        """POST /cmn/eav-groups: the custom-field group an app installs (reference §1.10)."""
        return self._call("POST", "/cmn/eav-groups", route="eav", json_body=dict(group)) or {}

    # --- Webhooks ------------------------------------------------------------------------------------
    # Registering changes no ERP entity and no catalogue event reports it, so there is no echo to suppress.

    def register_webhook(self, *, event: str, url: str) -> None:
        body = {"url": url, "destinationQueue": event, "appIdentifier": self._credentials.app_identifier}
        self._call("POST", "/cmn/system/app-message-webhook/register", route="webhooks", json_body=body)

    def deregister_webhook(self, *, event: str, url: str) -> None:
        body = {"url": url, "destinationQueue": event, "appIdentifier": self._credentials.app_identifier}
        self._call("POST", "/cmn/system/app-message-webhook/deregister", route="webhooks", json_body=body)
