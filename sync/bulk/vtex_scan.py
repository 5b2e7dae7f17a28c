"""Every VTEX order created in a date range, page by page, although List orders serves only 30 pages.

VTEX's List orders (``GET /api/oms/pvt/orders``) reads at most 30 pages of at most 100 orders
(reference/vtex.md §1.6; OpenAPI orders-api.json, parameters ``page`` and ``per_page``), while its
``paging`` counts every matching order. So the range [since, until) is cut into slices that each fit
in 30 pages, in creation order:

1. Read the first slice's first page (at first the slice is the whole range).
2. Its ``paging.pages`` above 30 and the slice at least twice ``min_slice_seconds`` wide: cut it in
   halves at a whole millisecond, drop that page, and go on with the left half (step 1).
3. Otherwise read the slice's pages one by one, oldest first, and yield each: the orders of the
   slice (VTEX's range includes both ends; the row with the slice's end belongs to the next one)
   and the checkpoint after it.
4. A slice too narrow to cut that still has more than 30 pages is read as far as VTEX allows; its
   last page says in ``overflow`` which range was cut off and how many orders were not reached.
5. The slice done, the next one starts at step 1 (its end is the right half left over from a cut).

The checkpoint (JSON) holds the scope, the slice boundaries still ahead and the next page, so a
scan resumed from any checkpoint yields exactly the pages that followed it when nothing changed in
VTEX meanwhile. Only one page is held at a time. Pure except for the ``vtex.list_orders`` calls.

Limits that are VTEX's, not the scan's (reference/vtex.md §1.6): the list lags new orders by about
four minutes of indexing; pages are counted by offset, so an order that leaves the status filter
while a slice is read moves the later rows of that slice one place up (a rerun finds what it moved
past); orders created in the same instant have no documented order among themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from django.conf import settings

from sync.clients.dtos import VtexOrderSummary
from sync.clients.vtex import MAX_LIST_PAGES, MAX_LIST_PER_PAGE

if TYPE_CHECKING:
    from sync.clients.vtex import VtexClient

CHECKPOINT_VERSION = 1
_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True)
class VtexOrdersPage:
    """One page of the scan: its orders, where to resume after it, and a cut-off range if any.

    ``scope_total`` is what VTEX counted for the whole range on the scan's first call (the orders in
    the statuses asked for, whether linked or not): a progress bar's total, known from the start."""

    orders: tuple[VtexOrderSummary, ...]
    checkpoint: dict
    overflow: str = ""
    scope_total: int | None = None


@dataclass
class _Position:
    """Where a scan stands: the boundaries of the slices ahead and the next page of the first one."""

    bounds: list[datetime]  # [start of current slice, its end, ends of the slices after it…, until]
    page: int  # next page of the current slice to read
    page_size: int  # per_page the current slice's pages are counted in (page > 1 only depends on it)
    scope_total: int | None


def _utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime")
    return moment.astimezone(UTC)


def _floor_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _scope(since: datetime, until: datetime, statuses: Sequence[str]) -> dict[str, Any]:
    return {"since": since.isoformat(), "until": until.isoformat(), "statuses": list(statuses)}


def _checkpoint(scope: dict[str, Any], position: _Position) -> dict[str, Any]:
    return {
        "version": CHECKPOINT_VERSION,
        **scope,
        "bounds": [b.isoformat() for b in position.bounds],
        "page": position.page,
        "page_size": position.page_size,
        "scope_total": position.scope_total,
    }


def _resume(checkpoint: Mapping[str, Any], scope: dict[str, Any], per_page: int) -> _Position:
    """The position a checkpoint holds; ValueError for one of another scope or a broken one."""
    if checkpoint.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"not a VTEX order scan checkpoint (version {checkpoint.get('version')!r})")
    theirs = {key: checkpoint.get(key) for key in scope}
    if theirs != scope:
        raise ValueError(f"the checkpoint belongs to another scan: {theirs} is not {scope}")
    try:
        bounds = [_utc(datetime.fromisoformat(b), "a checkpoint boundary") for b in checkpoint["bounds"]]
        page, page_size = int(checkpoint["page"]), int(checkpoint["page_size"])
        scope_total = checkpoint.get("scope_total")
        scope_total = None if scope_total is None else int(scope_total)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"broken VTEX order scan checkpoint: {exc}") from None
    well_formed = (
        (not bounds or bounds[-1] == datetime.fromisoformat(scope["until"]))
        and all(a < b for a, b in pairwise(bounds))
        and len(bounds) != 1
        and 1 <= page <= MAX_LIST_PAGES
        and 1 <= page_size <= MAX_LIST_PER_PAGE
    )
    if not well_formed:
        raise ValueError("broken VTEX order scan checkpoint: boundaries, page or page size out of order")
    if page == 1:  # nothing of the current slice was read yet: count it in today's page size
        page_size = per_page
    return _Position(bounds=bounds, page=page, page_size=page_size, scope_total=scope_total)


def _overflow_text(*, start: datetime, end: datetime, statuses: Sequence[str], total: int, read: int) -> str:
    which = f" in status {', '.join(statuses)}" if statuses else ""
    return (
        f"VTEX lists at most {MAX_LIST_PAGES} pages: {total} orders{which} were created in "
        f"[{start.isoformat()}, {end.isoformat()}), a slice too short to cut further "
        f"(BULK_VTEX_MIN_SLICE_SECONDS); the {read} oldest were read, {max(total - read, 0)} newer ones "
        "were not reached"
    )


def vtex_orders_scan(
    vtex: VtexClient,
    *,
    since: datetime,
    until: datetime,
    statuses: Sequence[str] = (),
    checkpoint: Mapping | None = None,
    per_page: int = MAX_LIST_PER_PAGE,
    min_slice_seconds: float | None = None,
) -> Iterator[VtexOrdersPage]:
    """Each List orders page of the orders created in [since, until) (in ``statuses``, if given), in
    creation order, each order once; from ``checkpoint`` on when given. The module's steps 1-5."""
    since, until = _utc(since, "since"), _utc(until, "until")
    if until < since:
        raise ValueError("until lies before since")
    if not 1 <= per_page <= MAX_LIST_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_LIST_PER_PAGE}")
    seconds = settings.BULK_VTEX_MIN_SLICE_SECONDS if min_slice_seconds is None else min_slice_seconds
    min_slice = timedelta(seconds=seconds)
    if min_slice < _MILLISECOND:  # a cut is made at a whole millisecond, the precision VTEX is sent
        raise ValueError("the minimum slice is at least a millisecond")
    statuses = tuple(statuses)
    scope = _scope(since, until, statuses)
    if checkpoint:
        position = _resume(checkpoint, scope, per_page)
    else:
        position = _Position(
            bounds=[since, until] if since < until else [], page=1, page_size=per_page, scope_total=None
        )

    while len(position.bounds) >= 2:
        # Step 1 (page 1) or step 3 (the next page of a slice that fits).
        start, end = position.bounds[0], position.bounds[1]
        result = vtex.list_orders(
            creation_from=start, creation_to=end, statuses=statuses, page=position.page, per_page=position.page_size
        )
        if position.scope_total is None:
            position.scope_total = result.total  # the first call covers the whole scope
        if position.page == 1 and result.pages > MAX_LIST_PAGES and end - start >= 2 * min_slice:
            # Step 2: cut; the page read is dropped, the left half's pages hold its orders.
            position.bounds.insert(1, _floor_ms(start + (end - start) / 2))
            continue
        orders = tuple(o for o in result.orders if start <= o.creation_date < end)
        last_page = min(result.pages, MAX_LIST_PAGES)
        overflow = ""
        if position.page >= last_page:
            if result.pages > MAX_LIST_PAGES:  # step 4
                overflow = _overflow_text(
                    start=start,
                    end=end,
                    statuses=statuses,
                    total=result.total,
                    read=MAX_LIST_PAGES * position.page_size,
                )
            # Step 5: the next slice, from its first page, in the page size asked for.
            position.bounds.pop(0)
            if len(position.bounds) == 1:
                position.bounds.clear()
            position.page, position.page_size = 1, per_page
        else:
            position.page += 1
        yield VtexOrdersPage(
            orders=orders,
            checkpoint=_checkpoint(scope, position),
            overflow=overflow,
            scope_total=position.scope_total,
        )
