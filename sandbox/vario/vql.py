"""The VQL subset of reference/vario-erp.md §4.5: a tokenizer, a recursive-descent parser, an evaluator.

    statement := SELECT columns FROM source [WHERE or] [ORDER BY key (, key)*] [LIMIT n] [OFFSET n] [;]
    columns   := '*' | column (',' column)*          column := (path | COUNT '(' (path | '*') ')') [annotation]
    or        := and (OR and)*                       and    := cond (AND cond)*
    cond      := '(' or ')' | path op literal | path LIKE 'pattern' | path IN '(' literal (, literal)* ')'
    op        := = | != | <> | < | > | <= | >=       literal := 'text' | number | TRUE | FALSE | NULL
    annotation := --v:result{displayname='x', visible=false}   (applies to the column before it)

Keywords are case-insensitive. Everything real VQL has beyond this (DISTINCT, JOIN, NOT, IS NULL,
BETWEEN, SUM/AVG/MIN/MAX, variables, GROUP BY, HAVING, UNION) raises ``VqlError`` saying
"unsupported in simulator: …", so a client never mistakes the subset for the real thing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.vario.serializers import number, timestamp


class VqlError(ValueError):
    pass


def unsupported(what: str) -> VqlError:
    return VqlError(f"unsupported in simulator: {what}")


# --- tokens -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # IDENT, STRING, NUMBER, OP, PUNCT, ANNOTATION, PLACEHOLDER, EOF
    value: Any
    pos: int

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "IDENT" and self.value.upper() in words


_IDENT_START = re.compile(r"[A-Za-z_]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*(?:-(?!-)[A-Za-z0-9_.]+)*")  # hyphens as in sales-channel.x
# ASCII digits: \d and str.isdigit take other scripts' digits and "²" (which int() refuses: a 500).
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_ANNOTATION = re.compile(r"v:result\{(?P<body>[^}]*)\}")
_ANNOTATION_ITEM = re.compile(r"\s*(?P<key>[A-Za-z]+)\s*=\s*(?:'(?P<text>[^']*)'|(?P<word>[A-Za-z]+))\s*(?:,|$)")
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")


def _annotation(text: str, pos: int) -> dict:
    match = _ANNOTATION.match(text)
    if not match:
        return {}
    options: dict[str, Any] = {}
    body = match.group("body").strip()
    at = 0
    while at < len(body):
        item = _ANNOTATION_ITEM.match(body, at)
        if not item or item.end() == at:
            raise VqlError(f"VQL syntax error at {pos}: malformed --v:result annotation")
        key = item.group("key").lower()
        if key not in ("displayname", "visible"):
            raise unsupported(f"annotation option {item.group('key')!r}")
        if key == "visible":
            word = (item.group("word") or "").lower()
            if word not in ("true", "false"):
                raise VqlError(f"VQL syntax error at {pos}: visible must be true or false")
            options["visible"] = word == "true"
        else:
            if item.group("text") is None:
                raise VqlError(f"VQL syntax error at {pos}: displayname must be a quoted text")
            options["displayname"] = item.group("text")
        at = item.end()
    return options


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            end = len(text) if end == -1 else end
            options = _annotation(text[i + 2 : end].strip(), i)
            if options:
                tokens.append(Token("ANNOTATION", options, i))
            i = end
        elif text.startswith("/*", i):
            raise unsupported("block comments")
        elif char == "'":
            j, chunks = i + 1, []
            while True:
                if j >= len(text):
                    raise VqlError(f"VQL syntax error at {i}: unterminated text literal")
                if text[j] == "'":
                    if text.startswith("''", j):
                        chunks.append("'")
                        j += 2
                        continue
                    break
                chunks.append(text[j])
                j += 1
            tokens.append(Token("STRING", "".join(chunks), i))
            i = j + 1
        elif match := _NUMBER.match(text, i):
            raw = match.group()
            tokens.append(Token("NUMBER", float(raw) if "." in raw else int(raw), i))
            i = match.end()
        elif _IDENT_START.match(char):
            match = _IDENT.match(text, i)
            tokens.append(Token("IDENT", match.group(), i))
            i = match.end()
        elif char in ":?$":
            raise unsupported("variable placeholders (inline the literal instead)")
        elif char == '"' or char == "`":
            raise unsupported("quoted identifiers")
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op:
                tokens.append(Token("OP", "!=" if op == "<>" else op, i))
                i += len(op)
            elif char in ",()*;":
                tokens.append(Token("PUNCT", char, i))
                i += 1
            else:
                raise VqlError(f"VQL syntax error at {i}: unexpected character {char!r}")
    tokens.append(Token("EOF", None, len(text)))
    return tokens


# --- syntax tree --------------------------------------------------------------------------------


@dataclass
class Column:
    path: str  # "*" inside COUNT(*)
    count: bool = False
    written: str = ""
    displayname: str | None = None
    visible: bool = True

    @property
    def key(self) -> str:
        return self.displayname or self.written


@dataclass(frozen=True)
class Comparison:
    path: str
    op: str  # = != < > <= >= LIKE IN
    value: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND / OR
    parts: tuple


@dataclass
class Query:
    columns: list[Column] | None  # None = *
    source: str
    where: Any = None
    order: list[tuple[str, bool]] = field(default_factory=list)  # (path, descending)
    limit: int | None = None
    offset: int = 0


UNSUPPORTED_KEYWORDS = {
    "DISTINCT": "DISTINCT",
    "JOIN": "JOIN",
    "LEFT": "JOIN",
    "RIGHT": "JOIN",
    "INNER": "JOIN",
    "OUTER": "JOIN",
    "GROUP": "GROUP BY",
    "HAVING": "HAVING",
    "UNION": "UNION",
    "NOT": "NOT",
    "IS": "IS [NOT] NULL",
    "BETWEEN": "BETWEEN",
    "AS": "aliases (use --v:result{displayname=...})",
}
AGGREGATES = {"SUM", "AVG", "MIN", "MAX"}
RESERVED = {"SELECT", "FROM", "WHERE", "ORDER", "BY", "ASC", "DESC", "LIMIT", "OFFSET", "AND", "OR", "LIKE", "IN"}
RESERVED |= {"COUNT", "TRUE", "FALSE", "NULL", *UNSUPPORTED_KEYWORDS}


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.at = 0

    # helpers
    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def advance(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def fail(self, expected: str) -> VqlError:
        token = self.token
        found = "end of statement" if token.kind == "EOF" else repr(token.value)
        return VqlError(f"VQL syntax error at {token.pos}: expected {expected}, found {found}")

    def reject_unsupported(self) -> None:
        token = self.token
        if token.kind == "IDENT" and token.value.upper() in UNSUPPORTED_KEYWORDS:
            raise unsupported(UNSUPPORTED_KEYWORDS[token.value.upper()])

    def keyword(self, *words: str) -> Token:
        self.reject_unsupported()
        if not self.token.is_keyword(*words):
            raise self.fail(" or ".join(words))
        return self.advance()

    def accept_keyword(self, *words: str) -> Token | None:
        self.reject_unsupported()
        return self.advance() if self.token.is_keyword(*words) else None

    def accept_punct(self, char: str) -> bool:
        if self.token.kind == "PUNCT" and self.token.value == char:
            self.advance()
            return True
        return False

    def punct(self, char: str) -> None:
        if not self.accept_punct(char):
            raise self.fail(repr(char))

    def path(self) -> str:
        self.reject_unsupported()
        token = self.token
        if token.kind != "IDENT" or token.value.upper() in RESERVED:
            raise self.fail("a column path")
        self.advance()
        return token.value

    def integer(self, what: str) -> int:
        token = self.token
        if token.kind != "NUMBER" or not isinstance(token.value, int) or token.value < 0:
            raise self.fail(f"a non-negative integer after {what}")
        self.advance()
        return token.value

    # grammar
    def parse(self) -> Query:
        self.keyword("SELECT")
        columns = self.columns()
        self.keyword("FROM")
        if self.token.kind == "PUNCT" and self.token.value == "(":
            raise unsupported("sub-queries")
        query = Query(columns=columns, source=self.path())
        if self.accept_keyword("WHERE"):
            query.where = self.or_expr()
        if self.accept_keyword("ORDER"):
            self.keyword("BY")
            query.order.append(self.order_key())
            while self.accept_punct(","):
                query.order.append(self.order_key())
        if self.accept_keyword("LIMIT"):
            query.limit = self.integer("LIMIT")
        if self.accept_keyword("OFFSET"):
            query.offset = self.integer("OFFSET")
        self.accept_punct(";")
        self.reject_unsupported()
        if self.token.kind != "EOF":
            raise self.fail("end of statement")
        return query

    def columns(self) -> list[Column] | None:
        self.reject_unsupported()
        if self.accept_punct("*"):
            return None
        columns = [self.column()]
        while self.accept_punct(","):
            columns.append(self.column())
        if any(c.count for c in columns) and len(columns) > 1:
            raise unsupported("COUNT together with other columns (there is no GROUP BY)")
        return columns

    def column(self) -> Column:
        self.reject_unsupported()
        token = self.token
        nxt = self.tokens[self.at + 1]
        function_call = token.kind == "IDENT" and nxt.kind == "PUNCT" and nxt.value == "("
        if function_call and token.value.upper() in AGGREGATES:
            raise unsupported(f"aggregate {token.value.upper()}")
        if function_call and token.value.upper() == "COUNT":
            self.advance()
            self.punct("(")
            self.reject_unsupported()
            arg = "*" if self.accept_punct("*") else self.path()
            self.punct(")")
            column = Column(path=arg, count=True, written=f"{token.value}({arg})")
        elif function_call:
            raise unsupported(f"function {token.value}")
        else:
            path = self.path()
            column = Column(path=path, written=path)
        while self.token.kind == "ANNOTATION":
            options = self.advance().value
            column.displayname = options.get("displayname", column.displayname)
            column.visible = options.get("visible", column.visible)
        return column

    def order_key(self) -> tuple[str, bool]:
        path = self.path()
        if self.accept_keyword("DESC"):
            return path, True
        self.accept_keyword("ASC")
        return path, False

    def or_expr(self):
        parts = [self.and_expr()]
        while self.accept_keyword("OR"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("OR", tuple(parts))

    def and_expr(self):
        parts = [self.condition()]
        while self.accept_keyword("AND"):
            parts.append(self.condition())
        return parts[0] if len(parts) == 1 else BoolOp("AND", tuple(parts))

    def condition(self):
        if self.accept_punct("("):
            inner = self.or_expr()
            self.punct(")")
            return inner
        path = self.path()
        self.reject_unsupported()
        token = self.token
        if token.kind == "OP":
            self.advance()
            return Comparison(path, token.value, self.literal())
        if self.accept_keyword("LIKE"):
            if self.token.kind != "STRING":
                raise self.fail("a text pattern after LIKE")
            return Comparison(path, "LIKE", self.advance().value)
        if self.accept_keyword("IN"):
            self.punct("(")
            if self.token.is_keyword("SELECT"):
                raise unsupported("sub-queries")
            values = [self.literal()]
            while self.accept_punct(","):
                values.append(self.literal())
            self.punct(")")
            return Comparison(path, "IN", tuple(values))
        raise self.fail("a comparison operator, LIKE or IN")

    def literal(self):
        self.reject_unsupported()
        token = self.token
        if token.kind in ("STRING", "NUMBER"):
            self.advance()
            return token.value
        if token.is_keyword("TRUE", "FALSE"):
            self.advance()
            return token.value.upper() == "TRUE"
        if token.is_keyword("NULL"):
            self.advance()
            return None
        if token.kind == "IDENT":
            raise unsupported("comparing two columns (the right side must be a literal)")
        raise self.fail("a literal")


def parse(statement: str) -> Query:
    return Parser(statement).parse()


# --- sources ------------------------------------------------------------------------------------

ID, TEXT, DATE, DATETIME, BOOL, INT = "id", "text", "date", "datetime", "bool", "int"
NUMBER = "number"  # quantities and money: Decimal in, a JSON number out (an integer when integral)


@dataclass(frozen=True)
class Source:
    fields: dict[str, str]  # path → type
    standard: list[str]  # what * selects
    rows: Callable[..., Iterable[dict]]  # keyword arguments: ORM filters that narrow the rows
    # Paths whose "=" / "IN" the database can pre-filter on (path → ORM lookup). Every row is still
    # matched in Python afterwards, so a pre-filter only saves reading rows that cannot match.
    indexed: dict[str, str] = field(default_factory=dict)


def _document_rows(**filters) -> Iterable[dict]:
    from sandbox.vario.models import Document

    documents = Document.objects.filter(**filters).select_related("document_type").order_by("id")
    for doc in documents:
        portal = doc.custom.get("vtexportal", {}) if isinstance(doc.custom, dict) else {}
        yield {
            "id": doc.id,
            "number": doc.number,
            "documentTypeId": doc.document_type_id,
            "documentTypeCategory": doc.document_type.category,
            "documentState.key": doc.state,
            "documentDate": doc.document_date,
            "orderedOn": doc.ordered_on,
            "shippingDate": doc.shipping_date,
            "externalIdentifier": doc.external_identifier,
            "externalNumber": doc.external_number,
            "referencedOrderNumber": doc.referenced_order_number,
            "salesChannel.id": int(doc.sales_channel_id) if doc.sales_channel_id else None,
            "accountId": int(doc.account_id),
            "custom.vtexportal.externalOrderId": portal.get("externalOrderId"),
            "custom.vtexportal.marketplaceOrderId": portal.get("marketplaceOrderId"),
            "info.createdAt": doc.created_at,
            "info.updatedAt": doc.updated_at,
        }


def _article_rows(**filters) -> Iterable[dict]:
    from sandbox.vario.models import Article

    for article in Article.objects.filter(**filters).order_by("id"):
        yield {
            "id": article.id,
            "articleNumber": article.article_number,
            "ean": article.ean or None,
            "active": article.active,
            "descriptions.description": article.name,
        }


def _shipment_rows(**filters) -> Iterable[dict]:
    """One row per parcel (the 1:n path parcels.* joins); a shipment without parcels gives one row."""
    from sandbox.vario.models import Shipment

    shipments = Shipment.objects.filter(**filters).select_related("carrier").prefetch_related("parcels")
    for shipment in shipments.order_by("id"):
        base = {
            "id": shipment.id,
            "documentId": shipment.document_id,
            "shippingDate": shipment.shipping_date,
            "carrier.key": shipment.carrier.key,
        }
        parcels = list(shipment.parcels.all())
        if not parcels:
            yield {**base, "parcels.id": None, "parcels.trackingNumber": None}
        for parcel in parcels:
            yield {**base, "parcels.id": parcel.id, "parcels.trackingNumber": parcel.tracking_number}


_DOCUMENT_FIELDS = {
    "id": ID,
    "number": TEXT,
    "documentTypeId": INT,
    "documentTypeCategory": TEXT,
    "documentState.key": TEXT,
    "documentDate": DATE,
    "orderedOn": DATE,
    "shippingDate": DATE,
    "externalIdentifier": TEXT,
    "externalNumber": TEXT,
    "referencedOrderNumber": TEXT,
    "salesChannel.id": ID,
    "accountId": ID,
    "custom.vtexportal.externalOrderId": TEXT,
    "custom.vtexportal.marketplaceOrderId": TEXT,
    "info.createdAt": DATETIME,
    "info.updatedAt": DATETIME,
}


def _shop_listing_rows(**filters) -> Iterable[dict]:
    """One row per article and listing (reference/catalog-sync.md §3.3 Q1); an article without a
    listing gives one row with null listings.* (as vds.queryShipments does for parcels). The
    identifiers are the EAN only: identifiers.name 'EAN' / identifiers.value, and flattened as ean."""
    from sandbox.vario.models import Article

    columns = (
        "id",
        "article_number",
        "active",
        "product_type",
        "sellable_without_stock",
        "ean",
        "updated_at",
        "listings__id",
        "listings__listed",
        "listings__sales_channel_id",
        "listings__sellable_without_stock",
        "listings__custom",
        "listings__updated_at",
    )
    # values() reuses the join a listings__ filter made, so the database returns only matching listings.
    for row in Article.objects.filter(**filters).order_by("id", "listings__id").values(*columns):
        listed_at = row["listings__updated_at"]
        own = row["listings__sellable_without_stock"]
        custom = row["listings__custom"] if isinstance(row["listings__custom"], dict) else {}
        portal = custom.get("vtexportal") if isinstance(custom.get("vtexportal"), dict) else {}
        channel = row["listings__sales_channel_id"]
        yield {
            "id": row["id"],
            "articleNumber": row["article_number"],
            "active": row["active"],
            "productType": row["product_type"],
            # The listing's own value wins over the article's default (ArticleListing, §2.1).
            "sellableWithoutStock": row["sellable_without_stock"] if own is None else own,
            "ean": row["ean"] or None,
            "identifiers.name": "EAN" if row["ean"] else None,
            "identifiers.value": row["ean"] or None,
            "listings.id": row["listings__id"],
            "listings.listed": row["listings__listed"],
            "listings.salesChannel.id": int(channel) if channel is not None else None,
            "listings.sellableWithoutStock": own,
            "listings.custom.vtexportal.vtexSkuId": portal.get("vtexSkuId"),
            "info.updatedAt": max(row["updated_at"], listed_at) if listed_at else row["updated_at"],
        }


def _article_storage_rows(**filters) -> Iterable[dict]:
    """Stock per article and storage (§3.3 Q2); stockAvailable = quantityInStock − reservedQuantity,
    negative when more is reserved than in stock."""
    from sandbox.vario.models import ArticleStorage

    columns = (
        "article_id",
        "article__article_number",
        "storage_id",
        "storage__number",
        "quantity_in_stock",
        "reserved_quantity",
        "quantity_in_picking",
        "updated_at",
    )
    for row in ArticleStorage.objects.filter(**filters).order_by("article_id", "storage_id").values(*columns):
        yield {
            "articleId": row["article_id"],
            "articleNumber": row["article__article_number"],
            "storage.id": int(row["storage_id"]),
            "storage.number": row["storage__number"],
            "quantityInStock": row["quantity_in_stock"],
            "reservedQuantity": row["reserved_quantity"],
            "quantityInPicking": row["quantity_in_picking"],
            "stockAvailable": row["quantity_in_stock"] - row["reserved_quantity"],
            "info.updatedAt": row["updated_at"],
        }


def _article_price_rows(**filters) -> Iterable[dict]:
    """Sales and purchase prices (§3.3 Q3), one row per ProductPrice."""
    from sandbox.vario.models import ProductPrice

    for price in ProductPrice.objects.filter(**filters).order_by("id"):
        yield {
            "id": price.id,
            "articleId": price.article_id,
            "qualifier": price.qualifier,
            "priceGroup.id": int(price.price_group_id) if price.price_group_id else None,
            "salesChannel.id": int(price.sales_channel_id) if price.sales_channel_id else None,
            "account.id": int(price.account_id) if price.account_id else None,
            "currencyCode": price.currency_code,
            "netPrice": price.net_price,
            "grossPrice": price.gross_price,
            "priceBase": price.price_base,
            "fromQuantity": price.from_quantity,
            "validFrom": price.valid_from,
            "validUntil": price.valid_until,
            "specialOfferPrice": price.special_offer_price,
            "info.updatedAt": price.updated_at,
        }


def _rrp_rows(**filters) -> Iterable[dict]:
    from sandbox.vario.models import RecommendedRetailPrice

    for rrp in RecommendedRetailPrice.objects.filter(**filters).order_by("id"):
        yield {
            "id": rrp.id,
            "articleRef.id": rrp.article_id,
            "countryCode": rrp.country_code,
            "currencyCode": rrp.currency_code,
            "value": rrp.value,
        }


_SHOP_LISTING_FIELDS = {
    "id": ID,
    "articleNumber": TEXT,
    "active": BOOL,
    "productType": TEXT,
    "sellableWithoutStock": BOOL,
    "ean": TEXT,
    "identifiers.name": TEXT,
    "identifiers.value": TEXT,
    "listings.id": ID,
    "listings.listed": BOOL,
    "listings.salesChannel.id": ID,
    "listings.sellableWithoutStock": BOOL,
    "listings.custom.vtexportal.vtexSkuId": TEXT,
    "info.updatedAt": DATETIME,
}
_ARTICLE_STORAGE_FIELDS = {
    "articleId": ID,
    "articleNumber": TEXT,
    "storage.id": ID,
    "storage.number": TEXT,
    "quantityInStock": NUMBER,
    "reservedQuantity": NUMBER,
    "quantityInPicking": NUMBER,
    "stockAvailable": NUMBER,
    "info.updatedAt": DATETIME,
}
_ARTICLE_PRICE_FIELDS = {
    "id": ID,
    "articleId": ID,
    "qualifier": TEXT,
    "priceGroup.id": ID,
    "salesChannel.id": ID,
    "account.id": ID,
    "currencyCode": TEXT,
    "netPrice": NUMBER,
    "grossPrice": NUMBER,
    "priceBase": TEXT,
    "fromQuantity": NUMBER,
    "validFrom": DATE,
    "validUntil": DATE,
    "specialOfferPrice": BOOL,
    "info.updatedAt": DATETIME,
}
_RRP_FIELDS = {"id": ID, "articleRef.id": ID, "countryCode": TEXT, "currencyCode": TEXT, "value": NUMBER}
SOURCES = {
    "document.querySalesDocuments": Source(
        fields=_DOCUMENT_FIELDS,
        standard=[p for p in _DOCUMENT_FIELDS if not p.startswith("custom.")],
        rows=_document_rows,
        indexed={
            "id": "id",
            "number": "number",
            "documentTypeCategory": "document_type__category",
            "referencedOrderNumber": "referenced_order_number",
            "custom.vtexportal.externalOrderId": "custom__vtexportal__externalOrderId",
        },
    ),
    "article.queryArticles": Source(
        fields={"id": ID, "articleNumber": TEXT, "ean": TEXT, "active": BOOL, "descriptions.description": TEXT},
        standard=["id", "articleNumber", "ean", "active"],
        rows=_article_rows,
        indexed={"id": "id", "articleNumber": "article_number"},
    ),
    "vds.queryShipments": Source(
        fields={
            "id": ID,
            "documentId": ID,
            "shippingDate": DATE,
            "carrier.key": TEXT,
            "parcels.id": ID,
            "parcels.trackingNumber": TEXT,
        },
        standard=["id", "documentId", "shippingDate", "carrier.key", "parcels.trackingNumber"],
        rows=_shipment_rows,
        indexed={"id": "id", "documentId": "document_id"},
    ),
    # Catalog (reference/catalog-sync.md §3.3: Q1 is a confirmed source, the other three are (A)).
    "article.shopListing": Source(
        fields=_SHOP_LISTING_FIELDS,
        standard=[p for p in _SHOP_LISTING_FIELDS if ".custom." not in p],
        rows=_shop_listing_rows,
        indexed={
            "id": "id",
            "articleNumber": "article_number",
            "listings.id": "listings__id",
            "listings.salesChannel.id": "listings__sales_channel_id",
        },
    ),
    "article.queryArticleStorages": Source(
        fields=_ARTICLE_STORAGE_FIELDS,
        standard=list(_ARTICLE_STORAGE_FIELDS),
        rows=_article_storage_rows,
        indexed={"articleId": "article_id", "articleNumber": "article__article_number", "storage.id": "storage_id"},
    ),
    "article.queryArticlePrices": Source(
        fields=_ARTICLE_PRICE_FIELDS,
        standard=list(_ARTICLE_PRICE_FIELDS),
        rows=_article_price_rows,
        indexed={"id": "id", "articleId": "article_id", "qualifier": "qualifier", "priceGroup.id": "price_group_id"},
    ),
    "article.queryRecommendedRetailPrices": Source(
        fields=_RRP_FIELDS,
        standard=list(_RRP_FIELDS),
        rows=_rrp_rows,
        indexed={"id": "id", "articleRef.id": "article_id"},
    ),
}


# --- evaluation ---------------------------------------------------------------------------------

_NO_MATCH = object()


def _coerce(kind: str, literal: Any, path: str) -> Any:
    """The literal as a value of the field's type; _NO_MATCH when it cannot equal any such value."""
    if literal is None:
        return None
    if kind in (ID, INT):
        if isinstance(literal, bool):
            return _NO_MATCH
        if isinstance(literal, int):
            return literal
        if isinstance(literal, float):
            return int(literal) if literal.is_integer() else _NO_MATCH
        return int(literal) if re.fullmatch(r"-?\d+", literal) else _NO_MATCH
    if kind == NUMBER:
        if isinstance(literal, bool):
            return _NO_MATCH
        try:
            parsed = Decimal(str(literal))
        except InvalidOperation:
            return _NO_MATCH
        return parsed if parsed.is_finite() else _NO_MATCH
    if kind == BOOL:
        if not isinstance(literal, bool):
            raise VqlError(f"{path} is a boolean; compare it with true or false")
        return literal
    if kind == DATE:
        try:
            return date.fromisoformat(str(literal))
        except ValueError:
            raise VqlError(f"{path} is a date; {literal!r} is not YYYY-MM-DD") from None
    if kind == DATETIME:
        try:
            parsed = datetime.fromisoformat(str(literal))
        except ValueError:
            raise VqlError(f"{path} is a timestamp; {literal!r} is not ISO 8601") from None
        if parsed.tzinfo is None:
            raise VqlError(f"{path} is a timestamp; give a time zone, e.g. {literal}Z")
        return parsed
    return literal if isinstance(literal, str) else str(literal)


def _like(pattern: str) -> re.Pattern:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL)


def render(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == ID:
        return str(value)
    if kind == DATE:
        return value.isoformat()
    if kind == DATETIME:
        return timestamp(value)
    if kind == NUMBER:
        return number(value)
    return value


def _compare(row: dict, cond: Comparison, source: Source) -> bool:
    kind = source.fields[cond.path]
    value = row.get(cond.path)
    if cond.op == "LIKE":
        text = render(kind, value)
        return text is not None and _like(cond.value).fullmatch(str(text)) is not None
    if cond.op == "IN":
        return value is not None and value in cond.value  # a frozenset by now (_coerced_in)
    literal = _coerce(kind, cond.value, cond.path)
    if literal is None:
        # "= null" / "!= null" test for a missing value (the subset has no IS NULL).
        if cond.op == "=":
            return value is None
        if cond.op == "!=":
            return value is not None
        raise VqlError(f"null can only be compared with = or !=, not {cond.op}")
    if value is None:
        return False
    if literal is _NO_MATCH:
        return cond.op == "!="
    if kind == BOOL and cond.op not in ("=", "!="):
        raise VqlError(f"{cond.path} is a boolean; use = or !=")
    return {
        "=": value == literal,
        "!=": value != literal,
        "<": value < literal,
        ">": value > literal,
        "<=": value <= literal,
        ">=": value >= literal,
    }[cond.op]


def _matches(row: dict, node, source: Source) -> bool:
    if node is None:
        return True
    if isinstance(node, BoolOp):
        results = (_matches(row, part, source) for part in node.parts)
        return all(results) if node.op == "AND" else any(results)
    return _compare(row, node, source)


def _coerced_in(node, source: Source):
    """The tree with each IN list coerced to the field's type once, as a set, rather than once per row
    (a batch read of 500 articles compared 500 literals per row)."""
    if isinstance(node, BoolOp):
        return BoolOp(node.op, tuple(_coerced_in(part, source) for part in node.parts))
    if isinstance(node, Comparison) and node.op == "IN":
        coerced = (_coerce(source.fields[node.path], v, node.path) for v in node.value)
        return Comparison(node.path, "IN", frozenset(w for w in coerced if w is not None and w is not _NO_MATCH))
    return node


def _prefilter(node, source: Source) -> dict[str, Any]:
    """ORM filters implied by the top-level AND of ``=`` / ``IN`` comparisons on indexed paths."""
    parts = node.parts if isinstance(node, BoolOp) and node.op == "AND" else (node,)
    filters: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, Comparison) or part.path not in source.indexed:
            continue
        kind, lookup = source.fields[part.path], source.indexed[part.path]
        if part.op == "=":
            literal = _coerce(kind, part.value, part.path)
            if _storable(literal):
                filters[lookup] = literal
            elif literal is not None:
                return {"pk__in": []}  # equals nothing the database can hold
        elif part.op == "IN":
            values = [_coerce(kind, v, part.path) for v in part.value]
            filters[f"{lookup}__in"] = [v for v in values if _storable(v)]
    return filters


def _storable(value: Any) -> bool:
    """A value a database column can hold (SQLite's integers end at 64 bits)."""
    if value is None or value is _NO_MATCH:
        return False
    return not isinstance(value, int) or -(2**63) <= value < 2**63


def _paths(node) -> Iterable[str]:
    if isinstance(node, BoolOp):
        for part in node.parts:
            yield from _paths(part)
    elif isinstance(node, Comparison):
        yield node.path


@dataclass
class Result:
    definition: list[dict]
    data: list[dict]


def execute(statement: str) -> Result:
    """Run a statement over the simulator's state; every row of the result (before body paging)."""
    query = parse(statement)
    source = SOURCES.get(query.source)
    if source is None:
        raise unsupported(f"source {query.source!r} (known: {', '.join(sorted(SOURCES))})")
    columns = query.columns or [Column(path=p, written=p) for p in source.standard]
    used = [c.path for c in columns if c.path != "*"] + list(_paths(query.where)) + [p for p, _ in query.order]
    for path in used:
        if path not in source.fields:
            raise unsupported(f"field {path!r} of {query.source} (known: {', '.join(source.fields)})")
    where = _coerced_in(query.where, source)
    rows = [row for row in source.rows(**_prefilter(query.where, source)) if _matches(row, where, source)]
    for path, descending in reversed(query.order or [("id", False)]):
        present = [r for r in rows if r.get(path) is not None]
        missing = [r for r in rows if r.get(path) is None]
        present.sort(key=lambda r, p=path: r[p], reverse=descending)
        # NULLs last ascending, first descending (PostgreSQL's default).
        rows = missing + present if descending else present + missing
    definition = [{"attribute": c.written, "displayName": c.key} for c in columns if c.visible]
    if columns[0].count:
        column = columns[0]
        counted = len(rows) if column.path == "*" else sum(1 for r in rows if r.get(column.path) is not None)
        return Result(definition=definition, data=[{column.key: counted}] if column.visible else [{}])
    rows = rows[query.offset :]
    if query.limit is not None:
        rows = rows[: query.limit]
    data = [{c.key: render(source.fields[c.path], row.get(c.path)) for c in columns if c.visible} for row in rows]
    return Result(definition=definition, data=data)
