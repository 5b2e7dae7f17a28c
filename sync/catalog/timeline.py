"""An article's (a SKU's) timeline: its events, attempts, every remote call with status and duration, what was
pushed, and problems, as the order timeline has them (design §2.6).

A batch touches up to 50 articles: its entries are gathered and written in one INSERT (``CatalogTimeline.flush``),
and a call made for the whole batch (the ERP read) lands on each article's timeline.
"""

from __future__ import annotations

from collections.abc import Iterable

from sync.catalog.models import CatalogTimelineEntry
from sync.clients.dtos import RemoteCall

Kind = CatalogTimelineEntry.Kind


def catalog_timeline_add(
    *,
    channel_id: int,
    vario_article_id: str,
    kind: str,
    title: str,
    detail: str = "",
    topic: str = "",
    vtex_sku_id: int | None = None,
) -> CatalogTimelineEntry:
    """One entry, written now (an event's intake, an operator's action)."""
    return CatalogTimelineEntry.objects.create(
        channel_id=channel_id,
        vario_article_id=vario_article_id,
        vtex_sku_id=vtex_sku_id,
        topic=topic,
        kind=kind,
        title=title[:300],
        detail=detail,
    )


class CatalogTimeline:
    """The entries of one batch, written together. As a client's recorder (``__call__``) it puts each remote
    call on the timelines of the articles ``for_articles`` names at that moment."""

    def __init__(self, *, channel_id: int, topic: str) -> None:
        self.channel_id = channel_id
        self.topic = topic
        self.entries: list[CatalogTimelineEntry] = []
        self._current: tuple[tuple[str, int | None], ...] = ()

    def for_articles(self, articles: Iterable[tuple[str, int | None]]) -> None:
        """The (article id, VTEX SKU id) pairs the next calls are made for."""
        self._current = tuple(articles)

    def add(
        self, *, vario_article_id: str, kind: str, title: str, detail: str = "", vtex_sku_id: int | None = None
    ) -> None:
        self.entries.append(
            CatalogTimelineEntry(
                channel_id=self.channel_id,
                vario_article_id=vario_article_id,
                vtex_sku_id=vtex_sku_id,
                topic=self.topic,
                kind=kind,
                title=title[:300],
                detail=detail,
            )
        )

    def __call__(self, call: RemoteCall) -> None:
        for article, sku in self._current:
            self.entries.append(
                CatalogTimelineEntry(
                    channel_id=self.channel_id,
                    vario_article_id=article,
                    vtex_sku_id=sku,
                    topic=self.topic,
                    kind=Kind.CALL,
                    title=f"{call.remote.upper()} {call.method} {call.path[:200]} → {call.status or 'no answer'}"[:300],
                    detail=call.error,
                    remote=call.remote,
                    method=call.method,
                    path=call.path[:500],
                    status_code=call.status,
                    duration_ms=call.duration_ms,
                    request_excerpt=call.request_excerpt,
                    response_excerpt=call.response_excerpt,
                )
            )

    def flush(self) -> int:
        """Write what was gathered (one INSERT per 500); returns how many."""
        entries, self.entries = self.entries, []
        if entries:
            CatalogTimelineEntry.objects.bulk_create(entries, batch_size=500)
        return len(entries)
