"""How a run ends: one vocabulary for the plan, the services and the runner.

The outbound plan (``sync.plan``) returns ``Conflict`` and ``NotYet`` among its actions when only a
person, or time, can take the order further; the services return any of these from their work, and
``sync.runner`` turns each into the order's status, its timeline entry and, when it says so, the next
try. Pure data: this module imports nothing of the portal, so every layer may import it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Done:
    summary: str = "Up to date"


@dataclass(frozen=True)
class Skipped:
    reason: str


@dataclass(frozen=True)
class Parked:
    """Needs a mapping; released automatically when it is saved."""

    needs_mapping: str  # "status:<erp state>" or "carrier:<ERP carrier key>"
    message: str


@dataclass(frozen=True)
class Conflict:
    """Something only a person can resolve (e.g. ERP cancelled an order VTEX already invoiced)."""

    message: str


@dataclass(frozen=True)
class NotYet:
    """The remote is not ready for the next step (EOI008/009/011, start-handling running, an item
    removal VTEX has not applied yet, ...): run again later, a bounded number of times."""

    message: str


@dataclass(frozen=True)
class Failed:
    message: str


Outcome = Done | Skipped | Parked | Conflict | NotYet | Failed
