"""Feed v3 and hook simulation (filled by the feed/hook work)."""

from __future__ import annotations


def feed_events_emit(*, order, last_state, state, last_change, current_change) -> None:
    """Create feed items for matching feed configurations and queue hook notifications."""
    raise NotImplementedError("feed/hook simulator not written yet")
