"""VARIO ERP client (reference/vario-erp.md §4): token refresh, documents, shipments, VQL, webhooks.

The access token comes from the refresh-token grant and is shared by all workers through Redis for
90 % of its lifetime; a 401 drops it and the call is retried once with a fresh one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import redis
from django.views.decorators.debug import sensitive_variables

from sync.clients.catalog_dtos import (
    ErpArticle,
    ErpListing,
    ErpListingPage,
    ErpRecommendedPrice,
    ErpSalesPrice,
    ErpStock,
    ErpStockRow,
)
from sync.clients.dtos import ErpDocument, ErpShipment, QueryPage
from sync.clients.errors import AuthError, NotFoundError, PayloadError, RejectedError, RetryableError
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


# --- Stock and prices (reference/catalog-sync.md §3.3) -------------------------------------------------------
# Q1 pages by 500 (the contract's LIMIT 500); the batch reads (Q2, Q3, RRP) take at most MAX_BATCH_ARTICLES ids
# in one statement, their rows (articles × storages or price rows) read 500 a page.
LISTINGS_PAGE_SIZE = 500
BATCH_PAGE_SIZE = 500
MAX_BATCH_ARTICLES = 500
LISTING_FIELDS = (
    "id, articleNumber, active, productType, sellableWithoutStock, identifiers.name, identifiers.value, "
    "listings.id, listings.listed, listings.salesChannel.id, listings.custom.vtexportal.vtexSkuId, info.updatedAt"
)


def _article_ids(article_ids: Sequence[str]) -> tuple[str, ...]:
    """VARIO article ids (int64, sent as quoted literals as §3.3 writes them), each once, in order."""
    if isinstance(article_ids, str):
        raise TypeError("article_ids is a sequence of ids, not one id")
    ids = tuple(dict.fromkeys(str(i) for i in article_ids))
    bad = [i for i in ids if not (i.isascii() and i.isdigit())]
    if bad:
        raise ValueError(f"VARIO article ids are whole numbers: {bad[:5]!r}")
    if len(ids) > MAX_BATCH_ARTICLES:
        raise ValueError(f"at most {MAX_BATCH_ARTICLES} articles a query; got {len(ids)}")
    return ids


def _channel_literal(sales_channel_id: str) -> str:
    if not sales_channel_id:
        raise ValueError("a VARIO sales channel id is needed: the channel has none configured")
    return vql_literal(sales_channel_id)


def _rows_of(dto) -> Callable[[Sequence[Mapping]], tuple]:
    return lambda rows: tuple(dto.from_row(row) for row in rows)


def _listings_of(rows: Sequence[Mapping]) -> tuple[ErpListing, ...]:
    """One listing per article. The simulator answers one row per article with the EAN flattened to
    ``ean`` (§3.3, A); should VARIO answer one row per identifier, the rows are merged, the EAN taken
    from whichever row names it."""
    by_article: dict[str, ErpListing] = {}
    for row in rows:
        listing = ErpListing.from_row(row)
        seen = by_article.get(listing.article_id)
        if seen is None:
            by_article[listing.article_id] = listing
        elif not seen.ean and listing.ean:
            by_article[listing.article_id] = replace(seen, ean=listing.ean)
    return tuple(by_article.values())


def _customer_orders_where(
    sales_channel_id: str, first_day: date | None, last_day: date | None, states: Sequence[str]
) -> str:
    """VQL conditions for the customer orders of a VARIO sales channel that carry a VTEX order id
    (reference/vario-erp.md §1.8, §4.5), every value a quoted literal."""
    conditions = [
        "documentTypeCategory = 'CUSTOMER_ORDER'",
        f"salesChannel.id = {vql_literal(sales_channel_id)}",
        "custom.vtexportal.externalOrderId != null",
    ]
    if first_day:
        conditions.append(f"documentDate >= {vql_literal(first_day.isoformat())}")
    if last_day:
        conditions.append(f"documentDate <= {vql_literal(last_day.isoformat())}")
    if states:
        conditions.append(f"documentState.key IN ({', '.join(vql_literal(state) for state in states)})")
    return " AND ".join(conditions)


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

    def _token_before_sending(self) -> str:
        """The access token for a request about to be sent. A temporary error getting it (the SSO server
        timed out, its limiter window full) left the request itself unsent: VARIO cannot have acted on it,
        so a create is not taken as one with a lost answer (sync.inbound)."""
        try:
            return self._access_token()
        except RetryableError as exc:
            exc.may_have_applied = False
            raise

    def _send(self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs):
        extra = dict(headers or {})
        # Outside the try: a refusal by the token endpoint is no expired access token to drop and refresh.
        token = self._token_before_sending()
        try:
            return self.http.request(method, path, headers={**extra, "Authorization": f"Bearer {token}"}, **kwargs)
        except AuthError as exc:
            if exc.status != 401:
                raise
        self.drop_token()  # expired or revoked: refresh once and try again
        return self.http.request(
            method, path, headers={**extra, "Authorization": f"Bearer {self._token_before_sending()}"}, **kwargs
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

    def count_customer_orders(
        self, *, sales_channel_id: str, first_day: date | None, last_day: date | None, states: Sequence[str] = ()
    ) -> int:
        """How many customer orders of the VARIO sales channel that carry a VTEX order id have a document
        date in [first_day, last_day] (both included) and one of ``states`` (any, if empty)."""
        where = _customer_orders_where(sales_channel_id, first_day, last_day, states)
        page = self.execute_vql(f"SELECT COUNT(id) FROM document.querySalesDocuments WHERE {where}", limit=1)
        return int(next(iter(page.rows[0].values()))) if page.rows else 0

    def customer_order_refs(
        self,
        *,
        sales_channel_id: str,
        first_day: date | None,
        last_day: date | None,
        states: Sequence[str] = (),
        after_id: int = 0,
        limit: int = 100,
    ) -> list[tuple[str, str]]:
        """(id, number) of those customer orders with an id above ``after_id``, by ascending id: keyset
        paging, so orders created meanwhile neither shift nor repeat a page."""
        where = _customer_orders_where(sales_channel_id, first_day, last_day, states)
        statement = (
            f"SELECT id, number FROM document.querySalesDocuments WHERE {where} AND id > {int(after_id)} ORDER BY id"
        )
        return [(str(row["id"]), str(row.get("number") or "")) for row in self.execute_vql(statement, limit=limit).rows]

    def find_customer_order_refs(self, *, sales_channel_id: str, ids: Sequence[str]) -> list[tuple[str, str]]:
        """(id, number) of the channel's customer orders (with a VTEX order id) named by document id or
        order number: digits may be either, so they are looked for as both."""
        where = _customer_orders_where(sales_channel_id, None, None, ())
        numeric = [i for i in ids if i.isascii() and i.isdigit()]
        found: dict[str, str] = {}
        for field, group in (("id", numeric), ("number", list(ids))):
            if not group:
                continue
            wanted = ", ".join(vql_literal(i) for i in group)
            statement = f"SELECT id, number FROM document.querySalesDocuments WHERE {where} AND {field} IN ({wanted})"
            for row in self.execute_vql(statement + " ORDER BY id", limit=len(group)).rows:
                found[str(row["id"])] = str(row.get("number") or "")
        return sorted(found.items(), key=lambda ref: int(ref[0]) if ref[0].isdigit() else 0)

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

    # --- Stock and prices (reference/catalog-sync.md §3.3: the working contract's queries) ------------------
    # The VQL sources and fields of Q2 and Q3 are the working model's (A), not VARIO's published ones (§4 gap
    # 1): they live in these methods only, so they change in one place when the real names are known.

    def get_channel_listings(
        self, *, sales_channel_id: str, after_id: int = 0, limit: int = LISTINGS_PAGE_SIZE
    ) -> ErpListingPage:
        """One page of the articles listed in a sales channel (Q1, ``article.shopListing``), by article id
        after ``after_id``: the page's ``next_after_id`` is the cursor a resumed run starts from (§3.6)."""
        if isinstance(after_id, bool) or not isinstance(after_id, int) or after_id < 0:
            raise ValueError(f"after_id is an article id (a whole number from 0): {after_id!r}")
        if not 1 <= limit <= LISTINGS_PAGE_SIZE:
            raise ValueError(f"limit lies between 1 and {LISTINGS_PAGE_SIZE}")
        statement = (
            f"SELECT {LISTING_FIELDS} FROM article.shopListing "
            f"WHERE listings.salesChannel.id = {_channel_literal(sales_channel_id)} AND listings.listed = true "
            f"AND id > {after_id} ORDER BY id"
        )
        page = self.execute_vql(statement, limit=limit)
        # A row at or before the cursor is none of this page's (a remote ignoring the condition): dropped, so
        # a reader never sees an article twice nor pages on for ever.
        listings = self._parse_rows(
            lambda rows: tuple(x for x in _listings_of(rows) if int(x.article_id) > after_id), page.rows, "listings"
        )
        full = page.more or len(page.rows) >= limit
        last = max((int(listing.article_id) for listing in listings), default=None)
        return ErpListingPage(listings=listings, next_after_id=last if full and last is not None else None)

    def iter_channel_listings(
        self, *, sales_channel_id: str, page_size: int = LISTINGS_PAGE_SIZE
    ) -> Iterator[ErpListing]:
        """Every article listed in the channel, page by page (one VQL call per page)."""
        after = 0
        while True:
            page = self.get_channel_listings(sales_channel_id=sales_channel_id, after_id=after, limit=page_size)
            yield from page.listings
            if page.next_after_id is None or page.next_after_id <= after:
                return  # also when the ids would not move on: never loop on one page
            after = page.next_after_id

    def get_listings(self, *, sales_channel_id: str, article_ids: Sequence[str]) -> tuple[ErpListing, ...]:
        """These articles' listings in the channel, listed or not (Q1 without its ``listed`` filter): what
        re-mapping an article after ``article(sales-channel-id=…).update`` reads (§3.3). An article without
        a listing in the channel is absent."""
        ids = _article_ids(article_ids)
        if not ids:
            return ()
        statement = (
            f"SELECT {LISTING_FIELDS} FROM article.shopListing "
            f"WHERE listings.salesChannel.id = {_channel_literal(sales_channel_id)} "
            f"AND id IN ({', '.join(vql_literal(i) for i in ids)}) ORDER BY id"
        )
        return self._parse_rows(_listings_of, self.query_all(statement, page_size=BATCH_PAGE_SIZE), "listings")

    def get_article(self, article_id: str) -> ErpArticle | None:
        """The article with this id (``article.queryArticles``, reference/vario-erp.md §4.5); None when absent."""
        [key] = _article_ids([article_id])
        return self._one_article(f"id = {vql_literal(key)}")

    def find_article_by_number(self, article_number: str) -> ErpArticle | None:
        """The article with this article number (the VTEX SKU's RefId, §3.2); None when absent."""
        if not article_number:
            raise ValueError("an article number is non-empty")
        return self._one_article(f"articleNumber = {vql_literal(article_number)}")

    def get_stock(self, article_ids: Sequence[str]) -> ErpStock:
        """The stock of a batch of articles in every storage, in one query (Q2, §3.3), and the moment the
        query was sent.

        Steps:
        1. Drop repeated ids; no ids, no call.
        2. Note the time, then send the query: the figures VARIO answers are at least as new as that moment,
           which is what the inventory PUT's ``dateUtcOnBalanceSystem`` must say (§3.4). A later moment
           could release a VTEX reservation acknowledged after VARIO's figure was read (§1.4.4).
        3. Read every page of the answer (rows are articles × storages).
        """
        ids = _article_ids(article_ids)
        read_at = datetime.now(UTC)
        if not ids:
            return ErpStock(read_at=read_at, rows=())
        statement = (
            "SELECT articleId, articleNumber, storage.id, storage.number, quantityInStock, reservedQuantity, "
            "quantityInPicking, stockAvailable, info.updatedAt FROM article.queryArticleStorages "
            f"WHERE articleId IN ({', '.join(vql_literal(i) for i in ids)}) ORDER BY articleId"
        )
        rows = self.query_all(statement, page_size=BATCH_PAGE_SIZE)
        return ErpStock(read_at=read_at, rows=self._parse_rows(_rows_of(ErpStockRow), rows, "stock"))

    def get_sales_prices(self, article_ids: Sequence[str]) -> tuple[ErpSalesPrice, ...]:
        """Every sales price row of a batch of articles, in one query (Q3, §3.3): all price groups, channels,
        accounts, quantity tiers and validity windows; choosing among them is the caller's (§3.3's rule)."""
        ids = _article_ids(article_ids)
        if not ids:
            return ()
        statement = (
            "SELECT id, articleId, priceGroup.id, salesChannel.id, account.id, currencyCode, netPrice, grossPrice, "
            "priceBase, fromQuantity, validFrom, validUntil, specialOfferPrice FROM article.queryArticlePrices "
            f"WHERE articleId IN ({', '.join(vql_literal(i) for i in ids)}) AND qualifier = 'SALES' ORDER BY id"
        )
        rows = self.query_all(statement, page_size=BATCH_PAGE_SIZE)
        return self._parse_rows(_rows_of(ErpSalesPrice), rows, "sales prices")

    def get_recommended_retail_prices(self, article_ids: Sequence[str]) -> tuple[ErpRecommendedPrice, ...]:
        """The recommended retail prices (the list-price source ``rrp``) of a batch of articles, in one query:
        REST reads them only by their own id, so VQL (§3.3, A)."""
        ids = _article_ids(article_ids)
        if not ids:
            return ()
        statement = (
            "SELECT id, articleRef.id, countryCode, currencyCode, value FROM article.queryRecommendedRetailPrices "
            f"WHERE articleRef.id IN ({', '.join(vql_literal(i) for i in ids)}) ORDER BY id"
        )
        rows = self.query_all(statement, page_size=BATCH_PAGE_SIZE)
        return self._parse_rows(_rows_of(ErpRecommendedPrice), rows, "recommended retail prices")

    def _one_article(self, condition: str) -> ErpArticle | None:
        statement = f"SELECT id, articleNumber, ean, active FROM article.queryArticles WHERE {condition} LIMIT 1"
        rows = self.execute_vql(statement, limit=1).rows
        return self._parse_rows(_rows_of(ErpArticle), rows, "article")[0] if rows else None

    def _parse_rows(self, parser, rows, what: str):
        return self.http.parse(parser, rows, "POST", f"/cmn/computed-queries/execute ({what})")
