"""The VARIO contract: the Keycloak token endpoint and /api/vario/… (reference/vario-erp.md §4)."""

from __future__ import annotations

from django.views.decorators.csrf import csrf_exempt

from sandbox.http import InvalidJson, json_body, json_response, object_id
from sandbox.vario import eav, vql
from sandbox.vario.auth import GrantError, access_token_grant, oauth_error, vario_api, vario_error
from sandbox.vario.models import AppClient, Article, Document, DocumentType, Shipment
from sandbox.vario.serializers import article_json, document_json, shipment_json
from sandbox.vario.services import Rejected, order_create, order_transition_run, order_transitions_available
from sandbox.vario.webhooks import RegistrationError, webhook_deregister, webhook_register

DEFAULT_QUERY_LIMIT = 100
MAX_QUERY_LIMIT = 1000


def _method_not_allowed(request, allowed: str):
    response = vario_error(405, f"Request method '{request.method}' is not supported")
    response["Allow"] = allowed
    return response


def _skip_app(request) -> str | None:
    """The calling app, when it asked not to be told about its own change (reference §1.9)."""
    suppress = request.headers.get("x-vario-suppress-own-webhooks", "").strip().lower() == "true"
    return request.vario_client.app_identifier if suppress else None


def _body(request):
    try:
        return json_body(request), None
    except InvalidJson as exc:
        return None, vario_error(400, str(exc))


def _find(model, pk: str, related: tuple[str, ...] = ()):
    """The row a path segment names, None (a 404) for a segment that is no id at all."""
    number = object_id(pk)
    return None if number is None else model.objects.select_related(*related).filter(pk=number).first()


@csrf_exempt
def token(request, tenant: str):
    """POST /realms/<tenant>/protocol/openid-connect/token (form-encoded, as Keycloak)."""
    if request.method != "POST":
        return oauth_error(405, "invalid_request", "HTTP method not allowed")
    if not AppClient.objects.filter(tenant=tenant).exists():
        return json_response({"error": "Realm does not exist", "error_description": "Realm does not exist"}, 404)
    issuer = request.build_absolute_uri(f"/realms/{tenant}")
    try:
        answer = access_token_grant(request=request, tenant=tenant, issuer=issuer)
    except GrantError as exc:
        return oauth_error(exc.status, exc.error, exc.description)
    response = json_response(answer)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@csrf_exempt
@vario_api
def documents(request):
    """POST /erp/documents — DocumentTypeTransitionRequest → {"document": …}."""
    if request.method != "POST":
        return _method_not_allowed(request, "POST")
    body, error = _body(request)
    if error:
        return error
    try:
        order = order_create(body=body, by=request.vario_client.client_id, skip_app=_skip_app(request))
    except Rejected as exc:
        return vario_error(exc.status, exc.message)
    return json_response({"document": document_json(order)})


@csrf_exempt
@vario_api
def document_states(request, document_id: str):
    """GET: the transitions the document can run now; PUT {"transitionId"}: run one (orders only here)."""
    if request.method not in ("GET", "PUT"):
        return _method_not_allowed(request, "GET, PUT")
    if _find(Document, document_id) is None:
        return vario_error(404, f"Document with id {document_id} not found")
    try:
        if request.method == "GET":
            return json_response(order_transitions_available(order_id=document_id))
        body, error = _body(request)
        if error:
            return error
        if not isinstance(body, dict):
            return vario_error(400, "The body must be a JSON object with a transitionId")
        unknown = set(body) - {"transitionId", "parameters"}
        if unknown:
            return vario_error(400, f"Unrecognized field(s): {', '.join(sorted(unknown))}")
        document = order_transition_run(
            order_id=document_id, transition_id=body.get("transitionId"), skip_app=_skip_app(request)
        )
    except Rejected as exc:
        return vario_error(exc.status, exc.message)
    return json_response({"document": document_json(document)})


def _document_type_json(document_type: DocumentType) -> dict:
    return {
        "id": str(document_type.id),
        "key": document_type.key,
        "labels": [{"languageCode": "de", "label": document_type.label}],
        "category": document_type.category,
        "defaultTypeOfCategory": True,
    }


def _detail_view(model, serializer, label: str, related: tuple[str, ...] = ()):
    """GET /…/{id} of one entity: 404 in VARIO's shape when the id is unknown. ``related``: the
    foreign keys its serializer reads, fetched with it."""

    @csrf_exempt
    @vario_api
    def view(request, entity_id: str):
        if request.method != "GET":
            return _method_not_allowed(request, "GET")
        entity = _find(model, entity_id, related)
        if entity is None:
            return vario_error(404, f"{label} with id {entity_id} not found")
        return json_response(serializer(entity))

    return view


document_detail = _detail_view(
    Document,
    document_json,
    "Document",
    related=("document_type", "sales_channel", "account", "delivery_method", "payment_method"),
)
document_type_detail = _detail_view(DocumentType, _document_type_json, "DocumentType")
article_detail = _detail_view(Article, article_json, "Article")
shipment_detail = _detail_view(Shipment, shipment_json, "Shipment", related=("carrier",))


def _paging(body: dict) -> tuple[int, int]:
    limit = body.get("limit", DEFAULT_QUERY_LIMIT)
    offset = body.get("offset", 0)
    for name, value, minimum in (("limit", limit, 1), ("offset", offset, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise vql.VqlError(f"{name} must be an integer of at least {minimum}, got {value!r}")
    return min(limit, MAX_QUERY_LIMIT), offset


@csrf_exempt
@vario_api
def computed_query(request):
    """POST /cmn/computed-queries/execute — the VQL subset, paged by the body's limit/offset."""
    if request.method != "POST":
        return _method_not_allowed(request, "POST")
    body, error = _body(request)
    if error:
        return error
    try:
        if not isinstance(body, dict):
            raise vql.VqlError("The body must be a JSON object with a statement")
        unknown = set(body) - {"statement", "variableSubstitutionList", "limit", "offset"}
        if unknown:
            raise vql.VqlError(f"Unrecognized field(s): {', '.join(sorted(unknown))}")
        statement = body.get("statement")
        if not isinstance(statement, str) or not statement.strip():
            raise vql.VqlError("statement is required")
        substitutions = body.get("variableSubstitutionList") or {}
        if not isinstance(substitutions, dict) or substitutions.get("variableSubstitutions"):
            raise vql.unsupported("variable substitutions (inline the literals)")
        limit, offset = _paging(body)
        result = vql.execute(statement)
    except vql.VqlError as exc:
        return vario_error(400, str(exc))
    page = result.data[offset : offset + limit]
    response = json_response({"definition": result.definition, "data": page})
    response["x-query-more-elements"] = "true" if offset + limit < len(result.data) else "false"
    response["x-query-next-offset"] = str(offset + limit)
    return response


def _webhook(request, action):
    if request.method != "POST":
        return _method_not_allowed(request, "POST")
    body, error = _body(request)
    if error:
        return error
    try:
        action(data=body, client=request.vario_client)
    except RegistrationError as exc:
        return vario_error(400, str(exc))
    return json_response(
        {"url": body["url"], "destinationQueue": body["destinationQueue"], "appIdentifier": body["appIdentifier"]}
    )


@csrf_exempt
@vario_api
def webhook_register_view(request):
    return _webhook(request, webhook_register)


@csrf_exempt
@vario_api
def webhook_deregister_view(request):
    return _webhook(request, webhook_deregister)


@csrf_exempt
@vario_api
def eav_group_by_key(request, key: str):
    """GET /cmn/eav-groups/by-key/{key} (reference §1.4)."""
    if request.method != "GET":
        return _method_not_allowed(request, "GET")
    group = eav.eav_group_get(key=key)
    return json_response(group) if group is not None else vario_error(404, f"No EAV group with key '{key}'")


@csrf_exempt
@vario_api
def eav_groups(request):
    """POST /cmn/eav-groups: an app creates its custom-field group (reference §1.4, §1.10)."""
    if request.method != "POST":
        return _method_not_allowed(request, "POST")
    body, error = _body(request)
    if error:
        return error
    try:
        group = eav.eav_group_create(data=body, app_identifier=request.vario_client.app_identifier)
    except Rejected as exc:
        return vario_error(exc.status, exc.message)
    return json_response(group, status=201)


@csrf_exempt
@vario_api
def not_found(request, rest: str):
    return vario_error(404, f"No endpoint {request.method} /api/vario/{rest}")
