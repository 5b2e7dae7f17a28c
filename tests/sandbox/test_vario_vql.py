import pytest

from sandbox.vario import vql
from tests.support.sandbox_vario import Vario


@pytest.fixture
def vario(sim):
    return Vario(sim)


@pytest.fixture
def orders(vario):
    """Three orders: two from VTEX (external ids), one entered in the ERP; the second partly delivered."""
    first = vario.order(externalIdentifier="1510581234567-01", externalOrderId="1510581234567-01")
    second = vario.order(
        lines=(("SKU-BLUE-L", 3),), externalIdentifier="1510589999999-01", externalOrderId="1510589999999-01"
    )
    third = vario.order(lines=(("SHOE-WHITE-40", 1),))
    body = {
        "lines": [{"orderLineId": second["lines"][0]["id"], "quantity": 1}],
        "carrier": "GLS",
        "trackingNumber": "G1",
    }
    vario.control(f"orders/{second['id']}/deliver", body, expect=201)
    return first, second, third


def numbers(rows):
    return [row["articleNumber"] for row in rows]


def test_external_id_lookup_finds_the_order(vario, orders):
    first = orders[0]
    response = vario.query(
        "SELECT id, number, externalIdentifier FROM document.querySalesDocuments "
        "WHERE documentTypeCategory = 'CUSTOMER_ORDER' AND custom.vtexportal.externalOrderId = '1510581234567-01' "
        "LIMIT 1",
        variableSubstitutionList={"variableSubstitutions": []},
        limit=50,
        offset=0,
    )

    assert response.status_code == 200
    assert response.json() == {
        "definition": [
            {"attribute": "id", "displayName": "id"},
            {"attribute": "number", "displayName": "number"},
            {"attribute": "externalIdentifier", "displayName": "externalIdentifier"},
        ],
        "data": [{"id": first["id"], "number": first["number"], "externalIdentifier": "1510581234567-01"}],
    }
    assert response["x-query-more-elements"] == "false"
    assert response["x-query-next-offset"] == "50"


def test_equals(vario):
    assert numbers(vario.rows("SELECT articleNumber FROM article.queryArticles WHERE ean = '4006381000772'")) == [
        "SKU-RED-M"
    ]


def test_not_equals(vario):
    rows = vario.rows(
        "SELECT articleNumber FROM article.queryArticles WHERE articleNumber LIKE 'SKU-RED-%' AND id != 77"
    )
    assert numbers(rows) == ["SKU-RED-S", "SKU-RED-L", "SKU-RED-XL"]


def test_less_and_greater(vario):
    assert [r["id"] for r in vario.rows("SELECT id FROM article.queryArticles WHERE id > 76 AND id < 79")] == [
        "77",
        "78",
    ]


def test_less_or_equal_and_greater_or_equal(vario):
    assert [r["id"] for r in vario.rows("SELECT id FROM article.queryArticles WHERE id >= 77 AND id <= 78")] == [
        "77",
        "78",
    ]


def test_like_prefix(vario):
    rows = vario.rows("SELECT articleNumber FROM article.queryArticles WHERE articleNumber LIKE 'SHOE-BLACK-4%'")
    assert numbers(rows) == [f"SHOE-BLACK-{size}" for size in range(40, 46)]


def test_in_list(vario):
    rows = vario.rows(
        "SELECT articleNumber FROM article.queryArticles WHERE articleNumber IN ('SKU-RED-M', 'HOODIE-GREY-M', 'X')"
    )
    assert numbers(rows) == ["SKU-RED-M", "HOODIE-GREY-M"]


def test_boolean_literal(vario):
    assert numbers(vario.rows("SELECT articleNumber FROM article.queryArticles WHERE active = false")) == ["SKU-OLD-1"]


def test_or_binds_weaker_than_and(vario):
    rows = vario.rows(
        "SELECT articleNumber FROM article.queryArticles WHERE articleNumber = 'SKU-RED-M' OR active = false AND id > 0"
    )
    assert numbers(rows) == ["SKU-RED-M", "SKU-OLD-1"]


def test_null_literal_matches_missing_values(vario, orders):
    rows = vario.rows(
        "SELECT number FROM document.querySalesDocuments WHERE externalIdentifier = null "
        "AND documentTypeCategory = 'CUSTOMER_ORDER'"
    )
    assert rows == [{"number": orders[2]["number"]}]


def test_keywords_are_case_insensitive(vario):
    rows = vario.rows("select articleNumber from article.queryArticles where id = 77 order by id desc limit 1")
    assert numbers(rows) == ["SKU-RED-M"]


def test_order_by_descending(vario):
    rows = vario.rows("SELECT id FROM article.queryArticles WHERE id IN (77, 78, 79) ORDER BY id DESC")
    assert [r["id"] for r in rows] == ["79", "78", "77"]


def test_order_by_text_ascending(vario):
    rows = vario.rows(
        "SELECT articleNumber FROM article.queryArticles WHERE articleNumber LIKE 'SKU-RED-%' ORDER BY articleNumber"
    )
    assert numbers(rows) == ["SKU-RED-L", "SKU-RED-M", "SKU-RED-S", "SKU-RED-XL"]


def test_statement_limit_and_offset(vario):
    rows = vario.rows("SELECT id FROM article.queryArticles ORDER BY id LIMIT 2 OFFSET 3")
    assert [r["id"] for r in rows] == ["79", "80"]


def test_body_paging_sets_the_headers(vario):
    statement = "SELECT id FROM article.queryArticles WHERE articleNumber LIKE 'SKU-%' ORDER BY id"

    first = vario.query(statement, limit=10, offset=0)
    second = vario.query(statement, limit=10, offset=10)

    assert len(first.json()["data"]) == 10
    assert (first["x-query-more-elements"], first["x-query-next-offset"]) == ("true", "10")
    assert len(second.json()["data"]) == 7  # 16 T-shirts + SKU-OLD-1
    assert (second["x-query-more-elements"], second["x-query-next-offset"]) == ("false", "20")
    ids = [r["id"] for r in first.json()["data"] + second.json()["data"]]
    assert len(set(ids)) == 17


def test_count(vario):
    assert vario.rows("SELECT COUNT(id) FROM article.queryArticles WHERE articleNumber LIKE 'SHOE-%'") == [
        {"COUNT(id)": 16}
    ]


def test_displayname_annotation_renames_the_key(vario):
    response = vario.query(
        "SELECT articleNumber --v:result{displayname='sku'}\n, id FROM article.queryArticles WHERE id = 77"
    )
    assert response.json()["data"] == [{"sku": "SKU-RED-M", "id": "77"}]
    assert response.json()["definition"][0] == {"attribute": "articleNumber", "displayName": "sku"}


def test_star_selects_the_standard_fields(vario):
    assert vario.rows("SELECT * FROM article.queryArticles WHERE id = 77") == [
        {"id": "77", "articleNumber": "SKU-RED-M", "ean": "4006381000772", "active": True}
    ]


def test_delivery_notes_are_found_by_referenced_order_number(vario, orders):
    second = orders[1]
    statement = (
        "SELECT id, documentState.key, shippingDate FROM document.querySalesDocuments "
        "WHERE documentTypeCategory = 'CUSTOMER_DELIVERY_DOCUMENT' AND referencedOrderNumber = 'NUMBER'"
    )
    rows = vario.rows(statement.replace("NUMBER", second["number"]))
    assert len(rows) == 1
    assert rows[0]["documentState.key"] == "SAVED"


def test_orders_by_state_and_sales_channel(vario, orders):
    rows = vario.rows(
        "SELECT number FROM document.querySalesDocuments "
        "WHERE documentState.key = 'PARTIALLY_DELIVERED' AND salesChannel.id = '7'"
    )
    assert rows == [{"number": orders[1]["number"]}]


def test_shipments_by_tracking_number(vario, orders):
    rows = vario.rows("SELECT documentId, carrier.key FROM vds.queryShipments WHERE parcels.trackingNumber = 'G1'")
    assert len(rows) == 1
    assert rows[0]["carrier.key"] == "GLS"


def test_updated_since_timestamp(vario, orders):
    rows = vario.rows(
        "SELECT COUNT(id) FROM document.querySalesDocuments WHERE info.updatedAt >= '2000-01-01T00:00:00Z'"
    )
    assert rows == [{"COUNT(id)": 4}]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT DISTINCT id FROM article.queryArticles",
        "SELECT a.id FROM article.queryArticles JOIN (SELECT id FROM article.queryArticles) AS a ON (a.id = id)",
        "SELECT id FROM article.queryArticles GROUP BY id",
        "SELECT SUM(id) FROM article.queryArticles",
        "SELECT id FROM article.queryArticles WHERE NOT active = true",
        "SELECT id FROM article.queryArticles WHERE ean IS NULL",
        "SELECT id FROM article.queryArticles WHERE id BETWEEN 1 AND 2",
        "SELECT id FROM article.queryArticles WHERE id = :id",
        "SELECT id FROM article.queryArticles WHERE id = articleNumber",
        "SELECT id, COUNT(id) FROM article.queryArticles",
        "SELECT price FROM article.queryArticles",
        "SELECT id FROM account.query",
    ],
)
def test_anything_outside_the_subset_is_400_unsupported(vario, statement):
    response = vario.query(statement)
    assert response.status_code == 400
    assert response.json()["message"].startswith("unsupported in simulator: ")


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT FROM article.queryArticles",
        "SELECT id article.queryArticles",
        "SELECT id FROM article.queryArticles WHERE id =",
        "SELECT id FROM article.queryArticles WHERE articleNumber = 'open",
        "SELECT id FROM article.queryArticles LIMIT -1",
        "SELECT id FROM article.queryArticles ORDER id",
    ],
)
def test_syntax_errors_are_400(vario, statement):
    response = vario.query(statement)
    assert response.status_code == 400
    assert response.json()["status"] == 400


def test_variable_substitutions_are_unsupported(vario):
    response = vario.post(
        "/cmn/computed-queries/execute",
        {
            "statement": "SELECT id FROM article.queryArticles",
            "variableSubstitutionList": {"variableSubstitutions": [{"name": "x", "value": 1}]},
        },
    )
    assert response.status_code == 400
    assert "unsupported in simulator" in response.json()["message"]


def test_bad_paging_values_are_400(vario):
    assert vario.query("SELECT id FROM article.queryArticles", limit=0).status_code == 400
    assert vario.query("SELECT id FROM article.queryArticles", offset=-1).status_code == 400


def test_tokenizer_keeps_hyphenated_names_and_annotations_apart():
    tokens = vql.tokenize("SELECT x--v:result{displayname='y'}\nFROM sales-channel.salesChannels")
    assert [(t.kind, t.value) for t in tokens] == [
        ("IDENT", "SELECT"),
        ("IDENT", "x"),
        ("ANNOTATION", {"displayname": "y"}),
        ("IDENT", "FROM"),
        ("IDENT", "sales-channel.salesChannels"),
        ("EOF", None),
    ]


def test_text_literals_may_contain_escaped_quotes():
    query = vql.parse("SELECT id FROM article.queryArticles WHERE articleNumber = 'O''Neil'")
    assert query.where == vql.Comparison("articleNumber", "=", "O'Neil")


def test_an_id_no_database_column_can_hold_matches_nothing_instead_of_failing(vario, orders):
    assert vario.rows("SELECT id FROM document.querySalesDocuments WHERE id IN (99999999999999999999)") == []
    assert vario.rows("SELECT id FROM vds.queryShipments WHERE documentId = 99999999999999999999") == []


def test_an_indexed_equality_and_an_or_give_the_same_rows_as_without_the_index(vario, orders):
    first, second, _ = orders
    statement = (  # VQL for the simulator, not SQL
        "SELECT id FROM document.querySalesDocuments WHERE documentTypeCategory = 'CUSTOMER_ORDER' "  # noqa: S608
        f"AND (number = '{first['number']}' OR number = '{second['number']}')"
    )
    assert sorted(row["id"] for row in vario.rows(statement)) == sorted([first["id"], second["id"]])
