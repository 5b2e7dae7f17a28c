"""Typed access to SimSetting switches."""

from __future__ import annotations

from typing import Any

from sandbox.models import SimSetting


def setting_get(*, key: str, default: Any = None) -> Any:
    row = SimSetting.objects.filter(key=key).first()
    return default if row is None else row.value


def setting_set(*, key: str, value: Any) -> None:
    SimSetting.objects.update_or_create(key=key, defaults={"value": value})
