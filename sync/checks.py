"""System checks for settings the remotes bound (`manage.py check`; every management command runs them).

A value VTEX refuses would only show when `configure_feed` posts it, or, for the visibility timeout,
never: VTEX's current docs state no limit (reference/vtex.md §1.2). The check reports both at start-up,
naming the variable and the range.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

# reference/vtex.md §1.2: MessageRetentionPeriodInSeconds is at least 4 and at most 14 days.
FEED_RETENTION_RANGE = (345600, 1209600)
# At most 12 h per an older VTEX help article (unconfirmed today): the stricter rule is kept, so a value
# VTEX might still refuse is caught here. Below 1 s an item would be visible again before it was stored.
FEED_VISIBILITY_TIMEOUT_RANGE = (1, 43200)


def _out_of_range(name: str, bounds: tuple[int, int], why: str, check_id: str) -> list[Error]:
    value = getattr(settings, name)
    low, high = bounds
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return []
    return [
        Error(
            f"{name} is {value!r}; it must be a whole number of seconds from {low} to {high}.",
            hint=f"{why} Set {name} in the environment (.env.example).",
            id=check_id,
        )
    ]


@register()
def feed_queue_settings_check(app_configs, **kwargs) -> list[Error]:
    """VTEX_FEED_RETENTION and VTEX_FEED_VISIBILITY_TIMEOUT within the bounds VTEX sets for the feed queue."""
    return _out_of_range(
        "VTEX_FEED_RETENTION",
        FEED_RETENTION_RANGE,
        "VTEX keeps an uncommitted feed item 4 to 14 days (MessageRetentionPeriodInSeconds).",
        "sync.E001",
    ) + _out_of_range(
        "VTEX_FEED_VISIBILITY_TIMEOUT",
        FEED_VISIBILITY_TIMEOUT_RANGE,
        "VTEX hides a retrieved feed item for at most 12 hours (visibilityTimeoutInSeconds).",
        "sync.E002",
    )
