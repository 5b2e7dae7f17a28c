"""SKU matching: which VTEX SKU each VARIO article of a channel is (reference/catalog-sync.md §3.2).

The key is VARIO's article number = the VTEX SKU's RefId, looked up in batches of at most 100 unique RefIds
(the batch lookup answers only the RefIds VTEX knows, §3.2); an article VTEX has no RefId for is looked up by
its EAN, one call each. States (``SkuMappingStatus``):

- ``mapped``: RefId found (``refid``), or no RefId but the EAN found an active SKU without another RefId (``ean``);
- ``inactive``: the EAN found a SKU VTEX has deactivated (the RefId batch says nothing of the flag: a SKU found
  by RefId is mapped, and VTEX itself ignores stock for an inactive SKU);
- ``ambiguous``: the EAN found a SKU whose RefId is another article number (RefId and EAN disagree), the RefId
  now names another SKU than the one it was matched to before (§3.2: "different SKUs for the same RefId over
  time"), or two articles want one SKU (``mappings.services.sku_mappings_match_record``);
- ``unmapped``: neither key found a SKU, or the article is not listed in the channel (any more).

Only ``mapped`` rows are ever sent (``sync.catalog.push``). A mapping a person set by hand is left alone. What
matching maps releases the work parked for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.utils import timezone

from mappings import selectors, services
from mappings.models import MatchedBy, SalesChannel, SkuMappingStatus
from mappings.services import SkuMatch
from sync.catalog.batch import ERP_ERROR, ERP_UNAVAILABLE, NOT_CONFIGURED, RETRY, Batch, ItemEnd
from sync.catalog.intake import catalog_work_release_parked, catalog_work_request_for
from sync.catalog.models import CatalogWork
from sync.clients.catalog_dtos import ErpListing
from sync.clients.errors import RemoteError, RetryableError
from sync.clients.http import Recorder
from sync.clients.vtex_catalog import MAX_REF_IDS_PER_CALL
from sync.remotes import NotConfigured, vario_client, vtex_catalog_client_for

Status = SkuMappingStatus


@dataclass
class MatchReport:
    """What one matching run found: counts by state, and the articles it mapped anew."""

    listed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    newly_mapped: list[str] = field(default_factory=list)
    kept_by_hand: list[str] = field(default_factory=list)
    released: int = 0

    def add(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1


def _ref_id(listing: ErpListing) -> str:
    """The article number as a RefId, or "" when it cannot be one (blank, or blanks around it: the lookup
    would not find it, and VTEX would not hold such a RefId)."""
    number = listing.article_number
    return number if number and number == number.strip() else ""


def _ean(listing: ErpListing) -> str:
    ean = listing.ean
    return ean if ean and ean == ean.strip() else ""


def _chunks(listings: Iterable[ErpListing], size: int) -> Iterator[list[ErpListing]]:
    chunk: list[ErpListing] = []
    for listing in listings:
        chunk.append(listing)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def sku_matches_of(
    *, listings: Sequence[ErpListing], by_ref_id: dict[str, int], by_ean: dict[str, object], before: dict
) -> list[SkuMatch]:
    """Pure: the matches of a chunk of listings, given what the RefId batch (``by_ref_id``) and the EAN lookups
    (``by_ean``: EAN → ``VtexSku`` or None) found and each article's mapping before (``before``: article id →
    ``SkuMapping``)."""
    matches = []
    for listing in listings:
        article, ref_id, ean = listing.article_id, _ref_id(listing), _ean(listing)
        known = before.get(article)
        # An article VARIO no longer lists in the channel keeps the number and EAN its row knew: "" says nothing.
        number = listing.article_number or (known.article_number if known is not None else "")
        shown_ean = ean or (known.ean if known is not None and not listing.article_number else "")
        common = {"vario_article_id": article, "article_number": number[:100], "ean": shown_ean[:50]}
        if not listing.listed:
            message = f"Not listed in VARIO sales channel {listing.sales_channel_id or '?'}: nothing is sent."
            matches.append(SkuMatch(status=Status.UNMAPPED, message=message, **common))
            continue
        sku_id = by_ref_id.get(ref_id) if ref_id else None
        if sku_id is not None:
            previous = before.get(article)
            if (
                previous is not None
                and previous.matched_by == MatchedBy.REFID
                and previous.vtex_sku_id is not None
                and previous.vtex_sku_id != sku_id
            ):
                message = (
                    f"RefId {ref_id} named VTEX SKU {previous.vtex_sku_id} before and names SKU {sku_id} now: "
                    "check which one is the article's and set it by hand."
                )
                matches.append(SkuMatch(status=Status.AMBIGUOUS, message=message, **common))
                continue
            message = f"Matched by RefId {ref_id}."
            matches.append(
                SkuMatch(
                    status=Status.MAPPED, vtex_sku_id=sku_id, matched_by=MatchedBy.REFID, message=message, **common
                )
            )
            continue
        sku = by_ean.get(ean) if ean else None
        if sku is None:
            keys = f"RefId {ref_id or '(none)'} or EAN {ean or '(none)'}"
            matches.append(SkuMatch(status=Status.UNMAPPED, message=f"No VTEX SKU has {keys}.", **common))
        elif sku.ref_id and sku.ref_id != ref_id:
            message = (
                f"EAN {ean} is VTEX SKU {sku.id}, whose RefId is {sku.ref_id!r}, not the article number "
                f"{ref_id or '(none)'}: RefId and EAN disagree."
            )
            matches.append(SkuMatch(status=Status.AMBIGUOUS, message=message, **common))
        elif not sku.is_active:
            message = f"EAN {ean} is VTEX SKU {sku.id}, which VTEX has deactivated."
            matches.append(
                SkuMatch(
                    status=Status.INACTIVE, vtex_sku_id=sku.id, matched_by=MatchedBy.EAN, message=message, **common
                )
            )
        else:
            message = f"Matched by EAN {ean} (VTEX has no SKU with RefId {ref_id or '(none)'})."
            matches.append(
                SkuMatch(status=Status.MAPPED, vtex_sku_id=sku.id, matched_by=MatchedBy.EAN, message=message, **common)
            )
    return matches


def sku_mappings_match(
    *, channel: SalesChannel, article_ids: Sequence[str] | None = None, recorder: Recorder | None = None
) -> MatchReport:
    """Match the channel's VARIO articles with VTEX SKUs and record the result (module docstring).

    Steps:
    1. The listings: every article listed in the channel (Q1, paged by 500), or, given ``article_ids``, those
       articles' listings, listed or not (an article without a listing in the channel is unmapped).
    2. Per chunk of 100 articles: one RefId batch call for the chunk's unique article numbers (§3.2).
    3. The EAN lookup for each article of the chunk the RefIds did not find, when it has an EAN.
    4. The chunk's matches (``sku_matches_of``) recorded at once (``sku_mappings_match_record``: bulk writes,
       hand-set mappings kept, a SKU claimed twice ambiguous), and the parked work of the newly mapped released.
    5. A whole channel's match also unmaps the articles it has rows for that are no longer listed.
    Raises the clients' errors (``RetryableError`` when a remote asks to wait) and ``NotConfigured``.
    """
    report = MatchReport()
    if not channel.vario_sales_channel_id:
        raise NotConfigured(f"Sales channel {channel.code} has no VARIO sales channel id.")
    vario = vario_client(recorder=recorder)
    catalog = vtex_catalog_client_for(channel, recorder=recorder)
    seen: set[str] = set()
    try:
        # 1.
        if article_ids is None:
            listings: Iterable[ErpListing] = vario.iter_channel_listings(
                sales_channel_id=channel.vario_sales_channel_id
            )
        else:
            wanted = list(dict.fromkeys(article_ids))
            found = []
            for start in range(0, len(wanted), 500):
                found.extend(
                    vario.get_listings(
                        sales_channel_id=channel.vario_sales_channel_id, article_ids=wanted[start : start + 500]
                    )
                )
            known = {listing.article_id for listing in found}
            missing = [a for a in wanted if a not in known]
            listings = [*found, *(_not_listed(a, channel) for a in missing)]
        for chunk in _chunks(listings, MAX_REF_IDS_PER_CALL):
            # 2.
            ref_ids = [r for r in dict.fromkeys(_ref_id(x) for x in chunk if x.listed) if r]
            by_ref_id = catalog.get_sku_ids_by_ref_ids(ref_ids) if ref_ids else {}
            # 3.
            by_ean = {}
            for listing in chunk:
                ean = _ean(listing)
                if listing.listed and ean and ean not in by_ean and by_ref_id.get(_ref_id(listing)) is None:
                    by_ean[ean] = catalog.get_sku_by_ean(ean)
            # 4.
            before = selectors.sku_mappings_for_articles(
                channel=channel, vario_article_ids=[x.article_id for x in chunk]
            )
            _record(channel, sku_matches_of(listings=chunk, by_ref_id=by_ref_id, by_ean=by_ean, before=before), report)
            seen.update(x.article_id for x in chunk)
            report.listed += sum(1 for x in chunk if x.listed)
        # 5.
        if article_ids is None:
            _unmap_unlisted(channel, seen, report)
    finally:
        vario.close()
        catalog.close()
    return report


def sku_mappings_match_channel(*, channel_code: str) -> MatchReport | None:
    """Every listed article of an active channel matched with VTEX (the job of the admin's and the command's
    whole-channel match). What it maps releases the work parked for it; it requests no other stock or price
    work: sending a whole channel is the initial sync's. None when the channel is gone or inactive."""
    channel = selectors.sales_channel_get(code=channel_code)
    if channel is None or not channel.active:
        return None
    return sku_mappings_match(channel=channel)


def _not_listed(article_id: str, channel: SalesChannel) -> ErpListing:
    return ErpListing(
        article_id=article_id,
        article_number="",
        active=False,
        product_type="",
        sellable_without_stock=False,
        ean="",
        listing_id="",
        listed=False,
        sales_channel_id=channel.vario_sales_channel_id,
        vtex_sku_id="",
        updated_at=None,
    )


def _record(channel: SalesChannel, matches: list[SkuMatch], report: MatchReport) -> None:
    if not matches:
        return
    outcome = services.sku_mappings_match_record(channel=channel, matches=matches, checked_at=timezone.now())
    kept = set(outcome.kept_by_hand)
    for match in matches:
        report.add(Status.MAPPED if match.vario_article_id in kept else match.status)
    report.newly_mapped.extend(outcome.newly_mapped)
    report.kept_by_hand.extend(outcome.kept_by_hand)
    report.released += catalog_work_release_parked(channel=channel, vario_article_ids=outcome.newly_mapped)


def _unmap_unlisted(channel: SalesChannel, seen: set[str], report: MatchReport) -> None:
    after = 0
    statuses = tuple(Status.values)
    while True:
        page = selectors.sku_mappings_page(channel=channel, after_id=after, limit=500, statuses=statuses)
        if not page:
            return
        after = page[-1].pk
        gone = [
            SkuMatch(
                vario_article_id=row.vario_article_id,
                status=Status.UNMAPPED,
                article_number=row.article_number,
                ean=row.ean,
                message=f"No longer listed in VARIO sales channel {channel.vario_sales_channel_id}: nothing is sent.",
            )
            for row in page
            if row.vario_article_id not in seen and row.status != Status.UNMAPPED
        ]
        _record(channel, gone, report)


# --- the match topic's batch (sync.catalog.push runs it) -------------------------------------------------------


def sku_match_batch(batch: Batch) -> None:
    """A batch of ``match`` work (a listing changed in VARIO, a 404 on a SKU, the admin's "match now"): match
    the articles again, then request their stock and price (as the toggles allow) for those now mapped."""
    State = CatalogWork.State
    articles = [item.vario_article_id for item in batch.items]
    batch.timeline.for_articles((article, None) for article in articles)
    try:
        sku_mappings_match(channel=batch.channel, article_ids=articles, recorder=batch.timeline)
    except RetryableError as exc:
        for item in batch.items:
            batch.end(item, ItemEnd(RETRY, ERP_UNAVAILABLE, str(exc), delay=exc.retry_after))
        return
    except (RemoteError, ValueError) as exc:
        for item in batch.items:
            batch.end(item, ItemEnd(State.FAILED, ERP_ERROR, str(exc)))
        return
    except NotConfigured as exc:
        for item in batch.items:
            batch.end(item, ItemEnd(State.FAILED, NOT_CONFIGURED, str(exc)))
        return
    rows = selectors.sku_mappings_for_articles(channel=batch.channel, vario_article_ids=articles)
    mapped = [a for a in articles if rows.get(a) is not None and rows[a].status == Status.MAPPED]
    catalog_work_request_for(channel=batch.channel, vario_article_ids=mapped)
    for item in batch.items:
        row = rows.get(item.vario_article_id)
        if row is not None and row.status == Status.MAPPED:
            message = (
                f"Mapped to VTEX SKU {row.vtex_sku_id} ({row.get_matched_by_display()}): stock and price requested."
            )
        else:
            message = f"{row.get_status_display() if row else 'Unmapped'}: {row.message if row else ''}".strip()
        batch.end(item, ItemEnd(State.DONE, message=message))
