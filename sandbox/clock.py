"""The simulators' clock: real time plus an offset the control API can advance.

Retention periods (4 days), hook idleness and token expiry are tested by moving this clock,
not by waiting.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from django.utils import timezone

_lock = threading.Lock()
_offset: float | None = None
SETTING_KEY = "clock.offset_seconds"


def _load() -> float:
    from sandbox.models import SimSetting

    row = SimSetting.objects.filter(key=SETTING_KEY).first()
    return float(row.value) if row and row.value is not None else 0.0


def offset_seconds() -> float:
    global _offset
    with _lock:
        if _offset is None:
            _offset = _load()
        return _offset


def now() -> datetime:
    return timezone.now() + timedelta(seconds=offset_seconds())


def set_offset(seconds: float) -> None:
    global _offset
    from sandbox.models import SimSetting

    SimSetting.objects.update_or_create(key=SETTING_KEY, defaults={"value": seconds})
    with _lock:
        _offset = seconds


def advance(seconds: float) -> float:
    set_offset(offset_seconds() + seconds)
    return offset_seconds()


def forget() -> None:
    """Drop the cached offset (after a reset)."""
    global _offset
    with _lock:
        _offset = None
