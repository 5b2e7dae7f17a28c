"""VTEX DO notes: create, read back, 2000-character and 30-notes limits."""

from tests.support.sandbox_vtex import call, checked, create_order, error_code


def _note(order_id: str, description: str = "Imported into VARIO as order OBJ-2026-00042.") -> dict:
    return {
        "target": {"id": order_id, "type": "order", "url": f"/orders/{order_id}"},
        "domain": "oms",
        "description": description,
    }


def test_create_note_answers_the_spec_shape(sim):
    order = create_order(sim)
    body = checked(sim, "do", "POST", "/api/do/notes", _note(order["orderId"]), status=200)
    assert body["target"]["id"] == order["orderId"]
    assert body["description"] == "Imported into VARIO as order OBJ-2026-00042."
    assert len(body["id"]) == 32
    assert body["creationDate"].endswith("Z")


def test_notes_are_read_back_by_order(sim):
    order = create_order(sim)
    other = create_order(sim)
    call(sim, "POST", "/api/do/notes", _note(order["orderId"], "first"))
    call(sim, "POST", "/api/do/notes", _note(other["orderId"], "elsewhere"))
    call(sim, "POST", "/api/do/notes", _note(order["orderId"], "second"))
    body = checked(sim, "do", "GET", "/api/do/notes", status=200, query={"target.id": order["orderId"]})
    assert [n["description"] for n in body["items"]] == ["first", "second"]
    assert body["paging"]["total"] == 2


def test_notes_are_paged(sim):
    order = create_order(sim)
    for n in range(3):
        call(sim, "POST", "/api/do/notes", _note(order["orderId"], f"note {n}"))
    query = f"target.id={order['orderId']}&perPage=2&page=2"
    body = call(sim, "GET", "/api/do/notes", query=query).json()
    assert [n["description"] for n in body["items"]] == ["note 2"]


def test_reading_notes_requires_the_target_id(sim):
    assert call(sim, "GET", "/api/do/notes").status_code == 400


def test_more_than_thirty_per_page_is_refused(sim):
    order = create_order(sim)
    assert call(sim, "GET", "/api/do/notes", query=f"target.id={order['orderId']}&perPage=31").status_code == 400


def test_a_description_of_2000_characters_is_accepted(sim):
    order = create_order(sim)
    assert call(sim, "POST", "/api/do/notes", _note(order["orderId"], "x" * 2000)).status_code == 200


def test_a_description_over_2000_characters_is_refused(sim):
    order = create_order(sim)
    response = call(sim, "POST", "/api/do/notes", _note(order["orderId"], "x" * 2001))
    assert response.status_code == 400
    assert error_code(response) == "SBX-NOTE-DESCRIPTION"


def test_the_31st_note_on_an_order_is_refused(sim):
    order = create_order(sim)
    for n in range(30):
        assert call(sim, "POST", "/api/do/notes", _note(order["orderId"], f"note {n}")).status_code == 200
    response = call(sim, "POST", "/api/do/notes", _note(order["orderId"], "one too many"))
    assert response.status_code == 400
    assert error_code(response) == "SBX-NOTE-LIMIT"


def test_note_without_domain_or_description_is_refused(sim):
    order = create_order(sim)
    for field in ("domain", "description", "target"):
        body = _note(order["orderId"])
        del body[field]
        assert call(sim, "POST", "/api/do/notes", body).status_code == 400


def test_note_on_an_unknown_order_is_404(sim):
    assert call(sim, "POST", "/api/do/notes", _note("1510589999999-01")).status_code == 404


def test_notes_need_credentials(sim):
    order = create_order(sim)
    assert call(sim, "POST", "/api/do/notes", _note(order["orderId"]), auth={}).status_code == 401
