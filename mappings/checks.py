"""Checks of the configuration against a remote's own lists, plugged in from outside.

A warehouse map and a price table map are validated on save against VTEX's lists (reference/catalog-sync.md
§3.1: ``GET .../configuration/warehouses`` and ``GET /pricing/tables``, ids compared exactly). ``mappings``
may not call VTEX (design §3), so the catalog flow registers a *lister* per kind when its app is ready::

    from mappings import checks_register
    checks_register(kind="vtex_warehouses", lister=...)

A lister takes a ``SalesChannel`` and returns the ids VTEX lists for it (a collection of strings, compared
exactly, case included), or None when this channel cannot be checked yet (no VTEX credentials): the id is
then saved unchecked. When VTEX cannot answer, the lister raises ``RemoteListUnavailable`` with a message for
the person saving (never a secret): the save is refused, since an id nobody checked would only fail later,
on every stock or price update. With no lister registered (tests, a portal without the catalog flow),
nothing is checked.

No model is imported here: ``mappings/__init__.py`` re-exports ``checks_register`` before apps are ready.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mappings.models import SalesChannel

VTEX_WAREHOUSES = "vtex_warehouses"
VTEX_PRICE_TABLES = "vtex_price_tables"
KINDS = {VTEX_WAREHOUSES: "VTEX warehouses", VTEX_PRICE_TABLES: "VTEX price tables"}

SHOWN = 10  # ids a refusal names, of those VTEX lists

Lister = Callable[["SalesChannel"], Collection[str] | None]

_listers: dict[str, Lister] = {}


class RemoteListUnavailable(Exception):
    """The remote could not list its ids; the message says why, for the person saving."""


def checks_register(*, kind: str, lister: Lister | None) -> Lister | None:
    """Use ``lister`` for ``kind`` from now on (None: check nothing); returns the one it replaces."""
    if kind not in KINDS:
        raise ValueError(f"unknown remote list {kind!r}; known: {', '.join(KINDS)}")
    previous = _listers.pop(kind, None)
    if lister is not None:
        _listers[kind] = lister
    return previous


class RemoteLists:
    """The remote's lists as one form or one import sees them: each (kind, channel) is listed at most once,
    however many rows name it."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int], frozenset[str] | None] = {}

    def missing(self, *, kind: str, channel: SalesChannel, ids: Iterable[str]) -> list[str]:
        """The ``ids`` the remote does not list for ``channel``, compared exactly; [] when nothing is
        registered for ``kind`` or the lister cannot check this channel. Raises ``RemoteListUnavailable``."""
        known = self._listed(kind=kind, channel=channel)
        if known is None:
            return []
        return sorted({i for i in ids if i not in known})

    def _listed(self, *, kind: str, channel: SalesChannel) -> frozenset[str] | None:
        lister = _listers.get(kind)
        if lister is None:
            return None
        key = (kind, channel.pk)
        if key not in self._known:
            listed = lister(channel)
            self._known[key] = None if listed is None else frozenset(listed)
        return self._known[key]

    def problem(self, *, kind: str, channel: SalesChannel, value: str) -> str | None:
        """Why ``value`` may not be saved for ``channel``, or None."""
        try:
            missing = self.missing(kind=kind, channel=channel, ids=[value])
        except RemoteListUnavailable as exc:
            return f"Could not check it against the {KINDS[kind]}: {exc} Try again later."
        if not missing:
            return None
        listed = sorted(self._listed(kind=kind, channel=channel) or ())
        shown = ", ".join(listed[:SHOWN]) + (f" and {len(listed) - SHOWN} more" if len(listed) > SHOWN else "")
        return (
            f"'{value}' is not among the {KINDS[kind]} of channel '{channel.code}' ({shown or 'VTEX lists none'}). "
            "Copy the id exactly as VTEX lists it: upper and lower case count."
        )
