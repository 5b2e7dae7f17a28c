"""Custom-field (EAV) groups (reference/vario-erp.md §1.4, §1.10): looked up by key, created by apps.

The seed installs the portal's group `vtexportal` (§4.2), as an installed app would have; the control
API removes a group to play a fresh tenant.
"""

from __future__ import annotations

from sandbox.settings_store import setting_get, setting_set
from sandbox.vario.services import Rejected

EAV_GROUPS_SETTING = "vario.eav_groups"
ATTRIBUTE_TYPES = frozenset(
    {
        "BOOLEAN",
        "INTEGER",
        "TEXT",
        "DATE",
        "DATE_TIME",
        "JSON",
        "URL",
        "OBJECT",
        "ARRAY",
        "CURRENCY",
        "DECIMAL",
        "MEMO",
        "SELECT_SINGLE",
        "SELECT_MULTI",
        "VARIANT_ATTRIBUTE",
    }
)
VIEW_MODES = frozenset({"EDITABLE", "READ_ONLY", "NOT_VISIBLE"})

SEEDED = {
    "vtexportal": {
        "id": "1",
        "key": "vtexportal",
        "label": "VTEX portal",
        "description": "VTEX order ids (installed)",
        "entities": ["document", "documentLine"],
        "attributes": [
            {
                "key": "externalOrderId",
                "label": "VTEX order id",
                "type": "TEXT",
                "viewMode": "READ_ONLY",
                "searchIndex": True,
                "active": True,
            },
            {
                "key": "marketplaceOrderId",
                "label": "Marketplace order id",
                "type": "TEXT",
                "viewMode": "READ_ONLY",
                "searchIndex": False,
                "active": True,
            },
            {
                "key": "externalItemId",
                "label": "VTEX item id",
                "type": "TEXT",
                "viewMode": "READ_ONLY",
                "searchIndex": False,
                "active": True,
            },
        ],
        "appIdentifier": None,
    }
}


def eav_groups() -> dict[str, dict]:
    return dict(setting_get(key=EAV_GROUPS_SETTING, default=SEEDED))


def eav_group_get(*, key: str) -> dict | None:
    return eav_groups().get(key)


def eav_group_create(*, data: object, app_identifier: str) -> dict:
    if not isinstance(data, dict) or not isinstance(data.get("key"), str) or not data["key"].strip():
        raise Rejected(400, "An EAV group needs a 'key'")
    groups = eav_groups()
    if data["key"] in groups:
        raise Rejected(409, f"An EAV group with key '{data['key']}' exists already")
    attributes = data.get("attributes") or []
    if not isinstance(attributes, list):
        raise Rejected(400, "'attributes' must be a list")
    for attribute in attributes:
        if not isinstance(attribute, dict) or not isinstance(attribute.get("key"), str):
            raise Rejected(400, "Every attribute needs a 'key'")
        if attribute.get("type") not in ATTRIBUTE_TYPES:
            raise Rejected(400, f"Attribute '{attribute['key']}': unknown type {attribute.get('type')!r}")
        if attribute.get("viewMode", "EDITABLE") not in VIEW_MODES:
            raise Rejected(400, f"Attribute '{attribute['key']}': unknown viewMode {attribute.get('viewMode')!r}")
    group = {
        **{k: data.get(k) for k in ("key", "label", "description", "entities", "attributes")},
        "id": str(max((int(g["id"]) for g in groups.values()), default=0) + 1),
        "appIdentifier": app_identifier,
    }
    groups[group["key"]] = group
    setting_set(key=EAV_GROUPS_SETTING, value=groups)
    return group


def eav_group_remove(*, key: str) -> bool:
    groups = eav_groups()
    if groups.pop(key, None) is None:
        return False
    setting_set(key=EAV_GROUPS_SETTING, value=groups)
    return True
