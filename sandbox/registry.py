"""Hooks the simulators register in their AppConfig.ready(): reset seeds and delivery headers."""

from __future__ import annotations

from collections.abc import Callable

_seeders: list[Callable[[], None]] = []
_header_providers: dict[str, Callable[[object], dict[str, str]]] = {}
_caller_resolvers: list[Callable[[object], str | None]] = []


def on_reset(seeder: Callable[[], None]) -> Callable[[], None]:
    """Register a function that seeds a simulator's initial state after a reset."""
    if seeder not in _seeders:
        _seeders.append(seeder)
    return seeder


def seeders() -> list[Callable[[], None]]:
    return list(_seeders)


def register_header_provider(kind: str, provider: Callable[[object], dict[str, str]]) -> None:
    """Headers computed at send time for deliveries of ``kind`` (e.g. a fresh, short-lived token)."""
    _header_providers[kind] = provider


def header_provider(kind: str) -> Callable[[object], dict[str, str]] | None:
    return _header_providers.get(kind)


def register_caller_resolver(resolver: Callable[[object], str | None]) -> None:
    """Who a request comes from, for per-client rate limits (e.g. a bearer token's OAuth client)."""
    if resolver not in _caller_resolvers:
        _caller_resolvers.append(resolver)


def caller_resolvers() -> list[Callable[[object], str | None]]:
    return list(_caller_resolvers)
