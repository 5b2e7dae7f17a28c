"""VTEX DO notes in an order's timeline (reference §6): 2000 characters, 30 notes per order."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sandbox import clock
from sandbox.http import QueryParamError, int_query_param
from sandbox.vtex.errors import bad_request, order_not_found
from sandbox.vtex.models import Account, Note, Order
from sandbox.vtex.services import new_hex

DESCRIPTION_LIMIT = 2000
NOTES_PER_ORDER = 30
PER_PAGE_MAX = 30


def utc_z(moment: datetime) -> str:
    """DO's date style: UTC, seven fraction digits, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def note_json(note: Note) -> dict:
    return {
        "id": note.note_id,
        "domain": note.domain,
        "owner": hashlib.md5(note.account.account_name.encode(), usedforsecurity=False).hexdigest(),
        "target": note.target,
        "description": note.description,
        "creationDate": utc_z(note.creation_date),
        "lastUpdate": utc_z(note.creation_date),
        "createdBy": note.created_by,
    }


def note_create(*, account: Account, app_key: str, data) -> Note:
    if not isinstance(data, dict):
        raise bad_request("SBX-INVALID-BODY", "The body must be a JSON object")
    target = data.get("target")
    if not isinstance(target, dict) or not isinstance(target.get("id"), str) or not target["id"]:
        raise bad_request("SBX-NOTE-TARGET", "target.id (the order id) is required")
    for field in ("type", "url"):
        if target.get(field) is not None and not isinstance(target[field], str):
            raise bad_request("SBX-NOTE-TARGET", f"target.{field} must be a string")
    domain = data.get("domain")
    if not isinstance(domain, str) or not domain:
        raise bad_request("SBX-NOTE-DOMAIN", "domain is required (oms for order notes)")
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise bad_request("SBX-NOTE-DESCRIPTION", "description is required")
    if len(description) > DESCRIPTION_LIMIT:
        raise bad_request(
            "SBX-NOTE-DESCRIPTION",
            f"description has {len(description)} characters; the maximum is {DESCRIPTION_LIMIT}",
        )
    order_id = target["id"]
    if not Order.objects.filter(account=account, order_id=order_id).exists():
        raise order_not_found()
    if Note.objects.filter(account=account, target_id=order_id).count() >= NOTES_PER_ORDER:
        raise bad_request("SBX-NOTE-LIMIT", f"Order {order_id} already has {NOTES_PER_ORDER} notes, the maximum")
    author = data.get("createdBy") if isinstance(data.get("createdBy"), dict) else {}
    return Note.objects.create(
        account=account,
        note_id=new_hex().upper(),
        target_id=order_id,
        target={
            "id": order_id,
            "type": target.get("type") or "order",
            "url": target.get("url") or f"/orders/{order_id}",
        },
        domain=domain,
        description=description,
        created_by={
            "id": str(author.get("id") or hashlib.md5(app_key.encode(), usedforsecurity=False).hexdigest()),
            "name": str(author.get("name") or app_key),
            "email": app_key,
            "key": app_key,
        },
        creation_date=clock.now(),
    )


def notes_page(*, account: Account, query) -> dict:
    target_id = query.get("target.id")
    if not target_id:
        raise bad_request("SBX-NOTE-TARGET", "target.id is required")
    try:
        # An order has at most NOTES_PER_ORDER notes, so no page beyond that can hold one.
        page = int_query_param(query, "page", default=1, minimum=1, maximum=NOTES_PER_ORDER)
        per_page = int_query_param(query, "perPage", default=15, minimum=1, maximum=PER_PAGE_MAX)
    except QueryParamError as exc:
        raise bad_request("SBX-NOTE-PAGING", str(exc)) from None
    notes = Note.objects.filter(account=account, target_id=target_id).select_related("account")
    total = notes.count()
    start = (page - 1) * per_page
    return {
        "items": [note_json(n) for n in notes[start : start + per_page]],
        "paging": {"page": page, "perPage": per_page, "total": total, "pages": -(-total // per_page)},
    }
