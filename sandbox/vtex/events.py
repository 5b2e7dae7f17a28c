"""The seam between the VTEX order simulator and its feed/hook simulator.

The order side calls ``order_status_changed`` after every status change (inside the same
transaction). The feed/hook side (``sandbox.vtex_feed``) turns it into feed items for every feed
configuration whose filter matches, and into hook notifications.
"""

from __future__ import annotations

from datetime import datetime


def order_status_changed(
    *, order, last_state: str, state: str, last_change: datetime, current_change: datetime
) -> None:
    """``order`` is a ``sandbox.vtex.models.Order``; its ``account`` owns the feeds and hooks to notify."""
    from sandbox.vtex_feed.services import feed_events_emit

    feed_events_emit(
        order=order, last_state=last_state, state=state, last_change=last_change, current_change=current_change
    )
