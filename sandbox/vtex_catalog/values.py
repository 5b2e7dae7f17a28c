"""Reading ids, numbers, dates and durations out of paths and JSON bodies, strictly and without a 500."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

INT32_MAX = 2**31 - 1
# A SKU id as Logistics and Pricing take it: plain ASCII digits, no leading zero. Logistics treats
# "0123" and "123" as different SKUs (reference §1.2, KI), so "0123" finds nothing.
_SKU_ID = re.compile(r"[1-9][0-9]{0,9}")
# reference §1.4.2: leadTime is "dd.hh:mm:ss" (days optional, VTEX answers "00:00:00" for none).
_LEAD_TIME = re.compile(r"(?:[0-9]{1,4}\.)?(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")


def sku_id_of(value) -> int | None:
    """``value`` (path text, or an int from a JSON body) as a SKU id (an int32 ≥ 1), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= INT32_MAX else None
    if not isinstance(value, str) or not _SKU_ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= INT32_MAX else None


def is_whole(value) -> bool:
    """A JSON integer (``true`` is not one, though Python's bool is an int)."""
    return isinstance(value, int) and not isinstance(value, bool)


MONEY_MAX = 10**12


def is_money(value) -> bool:
    """A finite JSON number of at most MONEY_MAX in size (json.loads turns NaN and Infinity into
    floats, and gives integers of any length; no price is either)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return abs(value) <= MONEY_MAX if isinstance(value, int) else math.isfinite(value) and abs(value) <= MONEY_MAX


def is_lead_time(value) -> bool:
    return isinstance(value, str) and _LEAD_TIME.fullmatch(value) is not None


def moment_of(value: str, *, require_offset: bool = False) -> datetime:
    """An ISO 8601 date and time; without an offset it is UTC unless ``require_offset``. ValueError if not."""
    if not isinstance(value, str) or not value or len(value) > 64:
        raise ValueError("not a date")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        if require_offset:
            raise ValueError("no offset")
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # "9999-12-31T23:59:59-23:59" lies beyond what a datetime holds in UTC
        raise ValueError("out of range") from None


def utc_text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
