import json
from dataclasses import replace
from urllib.parse import parse_qs

import pytest
import responses

from sync.clients.errors import AuthError, NotFoundError, RejectedError
from sync.clients.vario import VarioClient, VarioCredentials, vql_literal
from tests.support.fixtures import load_fixture

BASE = "https://acme.vario.cloud"
TOKEN_URL = "https://sso.vario.cloud/realms/acme/protocol/openid-connect/token"
API = f"{BASE}/api/vario"


@pytest.fixture
def credentials():
    return VarioCredentials(
        base_url=BASE,
        token_url=TOKEN_URL,
        client_id="portal",
        client_secret="CLIENT-SECRET",
        app_identifier="app-uuid",
        refresh_token="REFRESH-TOKEN",
    )


@pytest.fixture
def vario(credentials, settings, redis_conn):
    return VarioClient(credentials=credentials, timeout=(1, 1), redis_url=settings.REDIS_URL)


def token_response(token="ACCESS-1", expires_in=300):
    responses.post(TOKEN_URL, json={"access_token": token, "expires_in": expires_in, "token_type": "Bearer"})


@responses.activate
def test_the_refresh_token_grant_is_used_and_the_token_sent(vario):
    token_response()
    responses.get(f"{API}/erp/documents/2044", json=load_fixture("vario/document__delivery_note"))

    document = vario.get_document("2044")

    grant = parse_qs(responses.calls[0].request.body)
    assert grant == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["REFRESH-TOKEN"],
        "client_id": ["portal"],
        "client_secret": ["CLIENT-SECRET"],
    }
    api_call = responses.calls[1].request
    assert api_call.headers["Authorization"] == "Bearer ACCESS-1"
    assert api_call.headers["User-Agent"] == "app-uuid"
    assert document.category == "CUSTOMER_DELIVERY_DOCUMENT"
    [line] = document.article_lines
    assert (line.order_line.document_id, line.order_line.line_id, line.quantity) == ("1042", "9001", 2)
    assert line.external_item_id == "A1B2C3D4E5F6"
    assert document.external_order_id == "1510581234567-01"


@responses.activate
def test_the_token_is_shared_between_clients(vario, credentials, settings):
    token_response()
    responses.get(f"{API}/erp/documents/2044", json=load_fixture("vario/document__delivery_note"))
    vario.get_document("2044")
    VarioClient(credentials=credentials, timeout=(1, 1), redis_url=settings.REDIS_URL).get_document("2044")
    assert sum(1 for c in responses.calls if c.request.url == TOKEN_URL) == 1


@responses.activate
def test_a_401_refreshes_the_token_once_and_retries(vario):
    responses.post(TOKEN_URL, json={"access_token": "OLD", "expires_in": 300})
    responses.post(TOKEN_URL, json={"access_token": "NEW", "expires_in": 300})
    responses.get(f"{API}/erp/documents/1", status=401, json={"status": 401, "message": "expired"})
    responses.get(f"{API}/erp/documents/1", json=load_fixture("vario/document__delivery_note"))

    vario.get_document("1")

    authorizations = [c.request.headers.get("Authorization") for c in responses.calls if "documents" in c.request.url]
    assert authorizations == ["Bearer OLD", "Bearer NEW"]


@responses.activate
def test_a_second_401_is_an_auth_error(vario):
    token_response()
    responses.get(f"{API}/erp/documents/1", status=401, json={"status": 401, "message": "no"})
    with pytest.raises(AuthError):
        vario.get_document("1")


@responses.activate
def test_a_refused_token_grant_says_why(vario):
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "Token is not active"})
    with pytest.raises(RejectedError, match="Token is not active"):
        vario.get_document("1")


def sent_client_secrets() -> list[str]:
    return [parse_qs(c.request.body)["client_secret"][0] for c in responses.calls if c.request.url == TOKEN_URL]


@pytest.fixture
def rotating(credentials, settings, redis_conn):
    """A client in the middle of a rotation: the new secret configured, the old one as previous."""
    mid_rotation = replace(credentials, client_secret="NEW-SECRET", client_secret_previous="OLD-SECRET")
    return VarioClient(credentials=mid_rotation, timeout=(1, 1), redis_url=settings.REDIS_URL)


# reference/vario-erp.md §1.3/§4.1: Keycloak answers {"error", "error_description"}; for a wrong client
# secret RFC 6749 §5.2 says invalid_client (the simulator, 401), several Keycloak versions unauthorized_client.
@responses.activate
@pytest.mark.parametrize(
    ("status", "code"), [(401, "invalid_client"), (400, "invalid_client"), (401, "unauthorized_client")]
)
def test_a_refused_client_secret_is_tried_once_more_with_the_previous_one(rotating, status, code):
    refused = {"error": code, "error_description": "Invalid client or Invalid client credentials"}
    responses.post(TOKEN_URL, status=status, json=refused)
    responses.post(TOKEN_URL, json={"access_token": "ACCESS-OLD", "expires_in": 300})
    responses.get(f"{API}/erp/documents/2044", json=load_fixture("vario/document__delivery_note"))

    rotating.get_document("2044")

    assert sent_client_secrets() == ["NEW-SECRET", "OLD-SECRET"]
    assert responses.calls[-1].request.headers["Authorization"] == "Bearer ACCESS-OLD"


@responses.activate
def test_the_new_secret_alone_is_sent_once_vario_has_it(rotating):
    token_response()
    responses.get(f"{API}/erp/documents/2044", json=load_fixture("vario/document__delivery_note"))

    rotating.get_document("2044")

    assert sent_client_secrets() == ["NEW-SECRET"]


@responses.activate
def test_a_client_refused_with_both_secrets_is_an_auth_error(rotating):
    refused = {"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"}
    responses.post(TOKEN_URL, status=401, json=refused)
    responses.post(TOKEN_URL, status=401, json=refused)

    with pytest.raises(AuthError, match="Invalid client"):
        rotating.get_document("2044")
    assert sent_client_secrets() == ["NEW-SECRET", "OLD-SECRET"]


@responses.activate
def test_a_refused_refresh_token_is_not_retried_with_the_previous_secret(rotating):
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant", "error_description": "Token is not active"})

    with pytest.raises(RejectedError, match="Token is not active"):
        rotating.get_document("2044")
    assert sent_client_secrets() == ["NEW-SECRET"]


@responses.activate
def test_without_a_previous_secret_a_refused_client_is_not_retried(vario):
    responses.post(TOKEN_URL, status=401, json={"error": "invalid_client", "error_description": "Invalid client"})

    with pytest.raises(AuthError):
        vario.get_document("2044")
    assert sent_client_secrets() == ["CLIENT-SECRET"]


@responses.activate
def test_unknown_document_is_not_found_with_varios_message(vario):
    token_response()
    responses.get(f"{API}/erp/documents/9", status=404, json={"status": 404, "message": "Document 9 not found"})
    with pytest.raises(NotFoundError, match="Document 9 not found"):
        vario.get_document("9")


@responses.activate
def test_shipment_reads_carrier_and_parcels(vario):
    token_response()
    responses.get(f"{API}/vds/shipment/3301", json=load_fixture("vario/shipment__dhl"))
    shipment = vario.get_shipment("3301")
    assert (shipment.document_id, shipment.carrier_key) == ("2044", "DHL")
    assert shipment.parcels[0].tracking_number == "00340434161234567890"


@responses.activate
def test_vql_sends_the_statement_and_reads_paging_headers(vario):
    token_response()
    responses.post(
        f"{API}/cmn/computed-queries/execute",
        json={"definition": [], "data": [{"id": "1"}]},
        headers={"x-query-more-elements": "true", "x-query-next-offset": "50"},
    )
    page = vario.execute_vql("SELECT id FROM article.queryArticles", limit=50)
    body = json.loads(responses.calls[1].request.body)
    assert body == {
        "statement": "SELECT id FROM article.queryArticles",
        "variableSubstitutionList": {"variableSubstitutions": []},
        "limit": 50,
        "offset": 0,
    }
    assert page.rows == ({"id": "1"},) and page.more is True and page.next_offset == 50


@responses.activate
def test_query_all_follows_the_pages(vario):
    token_response()
    url = f"{API}/cmn/computed-queries/execute"
    responses.post(
        url, json={"data": [{"id": "1"}]}, headers={"x-query-more-elements": "true", "x-query-next-offset": "1"}
    )
    responses.post(url, json={"data": [{"id": "2"}]}, headers={"x-query-more-elements": "false"})
    assert vario.query_all("SELECT id FROM article.queryArticles", page_size=1) == [{"id": "1"}, {"id": "2"}]


@responses.activate
def test_query_all_stops_when_the_paging_would_not_move_on(vario):
    token_response()
    url = f"{API}/cmn/computed-queries/execute"
    stuck = {"x-query-more-elements": "true", "x-query-next-offset": "0"}
    responses.post(url, json={"data": [{"id": "1"}]}, headers=stuck)
    responses.post(url, json={"data": [{"id": "1"}]}, headers=stuck)

    assert vario.query_all("SELECT id FROM article.queryArticles", page_size=1) == [{"id": "1"}]
    assert len(responses.calls) == 2  # the token and one page


@responses.activate
@pytest.mark.parametrize("answer", [{"body": b""}, {"json": {"ok": True}}], ids=["empty", "another shape"])
def test_a_transition_whose_answer_has_no_document_reads_the_document_again(vario, answer):
    token_response()
    responses.put(f"{API}/erp/documents/2044/states", status=200, **answer)
    responses.get(f"{API}/erp/documents/2044", json=load_fixture("vario/document__delivery_note"))

    assert vario.run_transition("2044", "dissolve").id == "2044"


@responses.activate
def test_find_order_by_external_id_queries_then_reads_the_document(vario):
    token_response()
    responses.post(f"{API}/cmn/computed-queries/execute", json={"data": [{"id": "1042"}]})
    responses.get(f"{API}/erp/documents/1042", json=load_fixture("vario/document__delivery_note"))
    assert vario.find_order_by_external_id(sales_channel_id="7", external_id="1510581234567-01") is not None
    statement = json.loads(responses.calls[1].request.body)["statement"]
    assert "custom.vtexportal.externalOrderId = '1510581234567-01'" in statement
    assert "salesChannel.id = '7'" in statement


@responses.activate
def test_find_order_by_external_id_returns_none_when_absent(vario):
    token_response()
    responses.post(f"{API}/cmn/computed-queries/execute", json={"data": []})
    assert vario.find_order_by_external_id(sales_channel_id="7", external_id="x-01") is None


@pytest.mark.parametrize("value", ["a'b", "x\\", "1; DROP"])
def test_vql_literals_refuse_unsafe_characters(value):
    with pytest.raises(ValueError):
        vql_literal(value)


@responses.activate
def test_register_webhook_sends_url_queue_and_app_identifier(vario):
    token_response()
    responses.post(f"{API}/cmn/system/app-message-webhook/register", json={})
    vario.register_webhook(event="shipment.parcel.completed", url="https://portal/webhooks/vario/x")
    assert json.loads(responses.calls[1].request.body) == {
        "url": "https://portal/webhooks/vario/x",
        "destinationQueue": "shipment.parcel.completed",
        "appIdentifier": "app-uuid",
    }


@responses.activate
def test_create_document_returns_the_created_document(vario):
    token_response()
    responses.post(f"{API}/erp/documents", json={"document": load_fixture("vario/document__delivery_note")})
    assert vario.create_document({"transitionId": "create", "document": {}}).id == "2044"


SUPPRESS = "x-vario-suppress-own-webhooks"


@responses.activate
def test_writes_ask_vario_not_to_echo_them_to_our_own_webhooks(vario):
    # reference/vario-erp.md §1.9: without it, the order the import creates comes back as a webhook.
    token_response()
    document = {"document": load_fixture("vario/document__delivery_note")}
    responses.post(f"{API}/erp/documents", json=document)
    responses.put(f"{API}/erp/documents/1042/states", json=document)

    vario.create_document({"transitionId": "create", "document": {}})
    vario.run_transition("1042", "dissolve")

    writes = [c.request for c in responses.calls if c.request.url.startswith(f"{API}/erp/documents")]
    assert [(r.method, r.headers.get(SUPPRESS)) for r in writes] == [("POST", "true"), ("PUT", "true")]
    assert all(r.headers["Authorization"] == "Bearer ACCESS-1" for r in writes)


@responses.activate
def test_the_suppress_header_survives_the_token_refresh(vario):
    responses.post(TOKEN_URL, json={"access_token": "OLD", "expires_in": 300})
    responses.post(TOKEN_URL, json={"access_token": "NEW", "expires_in": 300})
    responses.put(f"{API}/erp/documents/1042/states", status=401, json={"status": 401, "message": "expired"})
    responses.put(f"{API}/erp/documents/1042/states", json={"document": load_fixture("vario/document__delivery_note")})

    vario.run_transition("1042", "dissolve")

    puts = [c.request for c in responses.calls if c.request.method == "PUT"]
    assert [(r.headers["Authorization"], r.headers.get(SUPPRESS)) for r in puts] == [
        ("Bearer OLD", "true"),
        ("Bearer NEW", "true"),
    ]


@responses.activate
def test_reads_do_not_send_the_suppress_header(vario):
    token_response()
    responses.get(f"{API}/erp/documents/2044", json=load_fixture("vario/document__delivery_note"))
    responses.post(f"{API}/cmn/computed-queries/execute", json={"data": []})

    vario.get_document("2044")
    vario.execute_vql("SELECT id FROM article.queryArticles LIMIT 1")

    assert all(SUPPRESS not in c.request.headers for c in responses.calls)


def test_credentials_repr_hides_secrets(credentials):
    assert "CLIENT-SECRET" not in repr(credentials) and "REFRESH-TOKEN" not in repr(credentials)


@responses.activate
def test_delivery_notes_and_returns_are_found_in_one_query(vario):
    token_response()
    responses.post(
        f"{API}/cmn/computed-queries/execute",
        json={"definition": [{"attribute": "id"}], "data": [{"id": "2044"}, {"id": "5120"}]},
        headers={"x-query-more-elements": "false"},
    )

    ids = vario.find_follow_up_ids(
        order_number="AU-10042", categories=("CUSTOMER_DELIVERY_DOCUMENT", "CUSTOMER_GOODS_RETURN")
    )

    assert ids == ["2044", "5120"]
    [query] = [call for call in responses.calls if call.request.url.endswith("/execute")]
    assert json.loads(query.request.body)["statement"] == (
        "SELECT id FROM document.querySalesDocuments "
        "WHERE documentTypeCategory IN ('CUSTOMER_DELIVERY_DOCUMENT', 'CUSTOMER_GOODS_RETURN') "
        "AND referencedOrderNumber = 'AU-10042' ORDER BY id"
    )


@responses.activate
def test_a_line_reference_carries_its_orders_number(vario):
    token_response()
    responses.get(f"{API}/erp/documents/2044", json=load_fixture("vario/document__delivery_note"))

    [line] = vario.get_document("2044").article_lines

    assert (line.order_line.document_id, line.order_line.document_number) == ("1042", "AU-10042")


# --- a channel's customer orders, for the bulk initial sync ---------------------------------------------------


def sent_statements() -> list[str]:
    return [
        json.loads(call.request.body)["statement"] for call in responses.calls if "computed-queries" in call.request.url
    ]


@responses.activate
def test_customer_orders_are_counted_and_paged_by_id_with_the_scope_as_literals(vario):
    from datetime import date

    token_response()
    responses.post(f"{API}/cmn/computed-queries/execute", json={"data": [{"COUNT(id)": 3}]})
    responses.post(f"{API}/cmn/computed-queries/execute", json={"data": [{"id": 1042, "number": "AU-1"}]})

    scope = {"sales_channel_id": "7", "first_day": date(2026, 11, 1), "last_day": date(2026, 11, 7)}
    assert vario.count_customer_orders(**scope, states=("open",)) == 3
    assert vario.customer_order_refs(**scope, after_id=1000, limit=50) == [("1042", "AU-1")]

    count, page = sent_statements()
    for statement in (count, page):
        assert "salesChannel.id = '7'" in statement and "custom.vtexportal.externalOrderId != null" in statement
        assert "documentDate >= '2026-11-01' AND documentDate <= '2026-11-07'" in statement
    assert count.startswith("SELECT COUNT(id) FROM document.querySalesDocuments") and "IN ('open')" in count
    assert page.endswith("AND id > 1000 ORDER BY id")
    assert json.loads(responses.calls[-1].request.body)["limit"] == 50


@responses.activate
def test_customer_orders_named_by_id_or_number_are_looked_for_as_both(vario):
    token_response()
    responses.post(f"{API}/cmn/computed-queries/execute", json={"data": [{"id": 1042, "number": "1042"}]})
    responses.post(
        f"{API}/cmn/computed-queries/execute",
        json={"data": [{"id": 1042, "number": "1042"}, {"id": 77, "number": "AU-77"}]},
    )

    assert vario.find_customer_order_refs(sales_channel_id="7", ids=["1042", "AU-77"]) == [
        ("77", "AU-77"),
        ("1042", "1042"),
    ]
    by_id, by_number = sent_statements()
    assert "AND id IN ('1042')" in by_id and "AND number IN ('1042', 'AU-77')" in by_number
    with pytest.raises(ValueError):
        vario.find_customer_order_refs(sales_channel_id="7", ids=["AB/2026"])


@responses.activate
def test_a_token_that_could_not_be_had_leaves_the_request_unsent_and_says_so(vario):
    import requests

    from sync.clients.errors import RetryableError

    responses.post(TOKEN_URL, body=requests.exceptions.ReadTimeout("SSO slow"))

    with pytest.raises(RetryableError) as raised:
        vario.create_document({"document": {}})

    assert raised.value.may_have_applied is False  # the create itself never left: no "lost answer"
    assert [call.request.url for call in responses.calls] == [TOKEN_URL]
