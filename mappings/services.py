"""Writes to the configuration. Callers: admin actions, management commands, signals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from mappings.models import (
    SYNC_TYPES_OFF_BY_DEFAULT,
    CatalogSettings,
    ErpFulfilmentState,
    MatchedBy,
    OrderLink,
    PlatformStatus,
    SalesChannel,
    SkuMapping,
    SkuMappingStatus,
    StatusMapping,
    SyncType,
    TransferToggle,
    connector_secret_new,
)

# The seed table: what a merchant expects without having configured anything.
DEFAULT_STATUS_MAPPINGS: dict[str, str] = {
    ErpFulfilmentState.CONFIRMED: PlatformStatus.PROCESSING,
    ErpFulfilmentState.PARTIALLY_SHIPPED: PlatformStatus.PARTIALLY_FULFILLED,
    ErpFulfilmentState.FULLY_SHIPPED: PlatformStatus.FULFILLED,
    ErpFulfilmentState.CANCELLED: PlatformStatus.CANCELLED,
    ErpFulfilmentState.RETURNED: PlatformStatus.REFUNDED,
}


def transfer_toggles_ensure(*, channel: SalesChannel) -> list[TransferToggle]:
    """Create the missing toggles of ``channel``, keep existing ones as they are. New toggles are enabled,
    except stock and price upload (``SYNC_TYPES_OFF_BY_DEFAULT``): those wait for the catalog settings."""
    existing = set(channel.transfer_toggles.values_list("sync_type", flat=True))
    missing = [
        TransferToggle(channel=channel, sync_type=t, enabled=t not in SYNC_TYPES_OFF_BY_DEFAULT)
        for t in SyncType.values
        if t not in existing
    ]
    TransferToggle.objects.bulk_create(missing, ignore_conflicts=True)
    return list(channel.transfer_toggles.all())


@transaction.atomic
def status_mappings_load_defaults(*, channel: SalesChannel) -> int:
    """Add the seed mappings that ``channel`` lacks; never overwrite an edited one. Returns how many."""
    existing = set(channel.status_mappings.values_list("erp_state", flat=True))
    new = [
        StatusMapping(channel=channel, erp_state=state, platform_status=status)
        for state, status in DEFAULT_STATUS_MAPPINGS.items()
        if state not in existing
    ]
    StatusMapping.objects.bulk_create(new)
    return len(new)


def order_link_record(
    *,
    channel: SalesChannel,
    vtex_order_id: str,
    erp_order_id: str = "",
    erp_order_number: str = "",
    marketplace_order_id: str = "",
    vtex_status: str = "",
    erp_state: str = "",
) -> OrderLink:
    """Create or update the link of one order; empty arguments leave what is known untouched.

    Writes only the fields that differ, and nothing when none does: every run records the statuses it
    saw, mostly unchanged, and a full save would also write back the other fields as this copy read
    them, over what a concurrent run (the import, a status sync) recorded meanwhile.
    """
    now = timezone.now()
    link, _ = OrderLink.objects.get_or_create(channel=channel, vtex_order_id=vtex_order_id)
    given = {
        "erp_order_id": erp_order_id,
        "erp_order_number": erp_order_number,
        "marketplace_order_id": marketplace_order_id,
        "vtex_status": vtex_status,
        "erp_state": erp_state,
    }
    changed = [field for field, value in given.items() if value and getattr(link, field) != value]
    if not changed:
        return link
    for field in changed:
        setattr(link, field, given[field])
    seen_at = [f"{field}_at" for field in changed if field in ("vtex_status", "erp_state")]  # when it changed
    for field in seen_at:
        setattr(link, field, now)
    link.save(update_fields=[*changed, *seen_at, "updated_at"])
    return link


def sales_channel_hook_url_set(*, channel: SalesChannel, url: str) -> bool:
    """Record where VTEX's hook of ``channel`` points (so it can be watched); True when it changed."""
    if channel.vtex_hook_url == url:
        return False  # no save: updated_at keeps saying when the configuration last changed
    channel.vtex_hook_url = url
    channel.save(update_fields=["vtex_hook_url", "updated_at"])
    return True


def sales_channel_connector_secret_rotate(*, channel: SalesChannel, grace_seconds: int) -> SalesChannel:
    """Give ``channel`` a new connector secret; the current one becomes the previous one, which the
    notification endpoint accepts for ``grace_seconds`` more (stored on the row, so a later change of
    the default does not move it). ``grace_seconds=0`` revokes it at once: a secret that leaked.

    VTEX learns the new endpoint with the next Channel Order API status update; results it had
    queued for the old one are refused once the previous secret is no longer valid. A second rotation
    within the grace period drops the secret before the previous one. Row-locked, so two rotations at
    once cannot both keep the same previous secret.
    """
    if grace_seconds < 0:
        raise ValueError("grace_seconds must be 0 or more")
    with transaction.atomic():
        locked = SalesChannel.objects.select_for_update().get(pk=channel.pk)
        keep = grace_seconds > 0
        locked.connector_secret_previous = locked.connector_secret if keep else ""
        locked.connector_secret_previous_valid_until = (
            timezone.now() + timedelta(seconds=grace_seconds) if keep else None
        )
        locked.connector_secret = connector_secret_new()
        locked.save(
            update_fields=[
                "connector_secret",
                "connector_secret_previous",
                "connector_secret_previous_valid_until",
                "updated_at",
            ]
        )
    return locked


# --- Stock and prices (reference/catalog-sync.md §3.1, §3.2) --------------------------------------------------


def catalog_settings_ensure(*, channel: SalesChannel) -> CatalogSettings:
    """The channel's catalog settings, created with the defaults if it has none (channels are given theirs
    when saved the first time, and by migration 0012)."""
    settings, _ = CatalogSettings.objects.get_or_create(channel=channel)
    return settings


@dataclass(frozen=True)
class SkuMatch:
    """What matching found for one VARIO article of a channel (built by the catalog flow from its Catalog
    lookups, catalog-sync.md §3.2). ``mapped`` and ``inactive`` name the SKU; ``unmapped`` and
    ``ambiguous`` name none (the candidates go into ``message``)."""

    vario_article_id: str
    status: str
    article_number: str = ""
    ean: str = ""
    vtex_sku_id: int | None = None
    matched_by: str = ""
    message: str = ""

    def __post_init__(self) -> None:
        if self.status not in SkuMappingStatus.values:
            raise ValueError(f"unknown SKU mapping status {self.status!r}")
        names_sku = self.status in (SkuMappingStatus.MAPPED, SkuMappingStatus.INACTIVE)
        if names_sku != (self.vtex_sku_id is not None):
            raise ValueError(f"a {self.status} match {'needs' if names_sku else 'names no'} VTEX SKU id")
        if self.matched_by == MatchedBy.MANUAL or self.matched_by not in ("", *MatchedBy.values):
            raise ValueError(f"matching records refid or ean, not {self.matched_by!r}")


@dataclass(frozen=True)
class SkuMatchOutcome:
    created: int
    updated: int
    kept_by_hand: tuple[str, ...]  # article ids a person mapped: left alone
    newly_mapped: tuple[str, ...]  # article ids mapped now to a SKU they were not mapped to: release their work
    conflicts: tuple[str, ...]  # article ids made ambiguous because another article has (or wants) their SKU


_MATCH_FIELDS = ("article_number", "ean", "vtex_sku_id", "matched_by", "status", "last_checked_at", "message")
_SENT_FIELDS = ("last_stock_sent", "last_stock_at", "last_price_sent", "last_price_at")


def sku_mappings_match_record(
    *, channel: SalesChannel, matches: Iterable[SkuMatch], checked_at: datetime | None = None
) -> SkuMatchOutcome:
    """Record what matching found for many articles of ``channel`` at once: a few queries, none per article.

    Steps:
    1. Read the articles' rows, locked (one query); a row a person mapped (``matched_by`` manual and
       mapped) is left as it is.
    2. A SKU is one article's (the constraint): a match naming a SKU that another article keeps, or that
       two matches of this batch name, becomes ``ambiguous`` with the other article in its message.
    3. Rows whose SKU changes give theirs up first (one UPDATE), so SKUs can move between articles
       without breaking the constraint mid-way; their last sent stock and price were another SKU's and
       are cleared.
    4. Update the existing rows in bulk, create the new ones in bulk (an upsert: a matcher running at
       the same time for the same article does not fail).
    """
    now = checked_at or timezone.now()
    batch: dict[str, SkuMatch] = {}
    for match in matches:
        if match.vario_article_id in batch:
            raise ValueError(f"article {match.vario_article_id} is in the batch twice")
        batch[match.vario_article_id] = match
    if not batch:
        return SkuMatchOutcome(0, 0, (), (), ())
    with transaction.atomic():
        # 1.
        existing = {
            row.vario_article_id: row
            for row in SkuMapping.objects.select_for_update().filter(channel=channel, vario_article_id__in=batch)
        }
        by_hand = {
            article
            for article, row in existing.items()
            if row.matched_by == MatchedBy.MANUAL and row.status == SkuMappingStatus.MAPPED
        }
        writing = {article: match for article, match in batch.items() if article not in by_hand}
        # 2.
        claims: dict[int, list[str]] = {}
        for article, match in writing.items():
            if match.vtex_sku_id is not None:
                claims.setdefault(match.vtex_sku_id, []).append(article)
        final = {article: _unless_claimed_twice(match, claims) for article, match in writing.items()}
        wanted = {m.vtex_sku_id for m in final.values() if m.vtex_sku_id is not None}
        kept_elsewhere = dict(
            SkuMapping.objects.filter(channel=channel, vtex_sku_id__in=wanted)
            .exclude(vario_article_id__in=writing)
            .values_list("vtex_sku_id", "vario_article_id")
        )
        for article, match in final.items():
            holder = kept_elsewhere.get(match.vtex_sku_id) if match.vtex_sku_id is not None else None
            if holder is not None:
                final[article] = _ambiguous(match, f"VTEX SKU {match.vtex_sku_id} is already article {holder}'s.")
        # 3.
        moving = [
            row.pk
            for article, row in existing.items()
            if article in final and row.vtex_sku_id is not None and row.vtex_sku_id != final[article].vtex_sku_id
        ]
        if moving:
            SkuMapping.objects.filter(pk__in=moving).update(
                vtex_sku_id=None,
                status=SkuMappingStatus.UNMAPPED,
                last_stock_sent={},
                last_stock_at=None,
                last_price_sent={},
                last_price_at=None,
            )
        # 4.
        updates, creates, newly_mapped = [], [], []
        for article, match in final.items():
            row = existing.get(article)
            if match.status == SkuMappingStatus.MAPPED and (
                row is None or row.status != SkuMappingStatus.MAPPED or row.vtex_sku_id != match.vtex_sku_id
            ):
                newly_mapped.append(article)
            values = {
                "article_number": match.article_number,
                "ean": match.ean,
                "vtex_sku_id": match.vtex_sku_id,
                "matched_by": match.matched_by if match.vtex_sku_id is not None else "",
                "status": match.status,
                "last_checked_at": now,
                "message": match.message,
            }
            if row is None:
                creates.append(SkuMapping(channel=channel, vario_article_id=article, **values))
                continue
            for field, value in values.items():
                setattr(row, field, value)
            row.updated_at = now  # bulk_update does not set auto_now fields
            updates.append(row)
        SkuMapping.objects.bulk_update(updates, [*_MATCH_FIELDS, "updated_at"], batch_size=500)
        SkuMapping.objects.bulk_create(
            creates,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["channel", "vario_article_id"],
            update_fields=[*_MATCH_FIELDS, "updated_at"],
        )
    conflicts = tuple(
        sorted(a for a, m in final.items() if m.status == SkuMappingStatus.AMBIGUOUS and writing[a] is not m)
    )
    return SkuMatchOutcome(
        created=len(creates),
        updated=len(updates),
        kept_by_hand=tuple(sorted(by_hand)),
        newly_mapped=tuple(sorted(newly_mapped)),
        conflicts=conflicts,
    )


def _ambiguous(match: SkuMatch, why: str) -> SkuMatch:
    message = f"{why} {match.message}".strip()
    return replace(match, status=SkuMappingStatus.AMBIGUOUS, vtex_sku_id=None, matched_by="", message=message)


def _unless_claimed_twice(match: SkuMatch, claims: dict[int, list[str]]) -> SkuMatch:
    """``match``, or ambiguous when another match of the batch names the same SKU (neither is sent)."""
    if match.vtex_sku_id is None:
        return match
    others = sorted(a for a in claims[match.vtex_sku_id] if a != match.vario_article_id)
    if not others:
        return match
    return _ambiguous(match, f"VTEX SKU {match.vtex_sku_id} matches articles {', '.join(others)} too.")


def sku_mappings_stock_sent_record(
    *, channel: SalesChannel, sent: Mapping[int, Mapping[str, dict]], at: datetime
) -> int:
    """Record the inventory updates VTEX accepted: ``sent`` maps a VTEX SKU id to {VTEX warehouse id: the
    body sent}. Other warehouses' entries stay; a SKU no row of ``channel`` holds any more is passed over.

    Writes only what changed, row by row (a value sent again changes only when it was sent), under a row
    lock: two workers may record two warehouses of one SKU at once. Returns how many rows were written.
    """

    sent = {int(sku): bodies for sku, bodies in sent.items()}

    def merged(row: SkuMapping) -> dict[str, object]:
        stock = {**(row.last_stock_sent or {}), **sent[row.vtex_sku_id]}
        return {"last_stock_sent": stock, "last_stock_at": _later(row.last_stock_at, at)}

    return _sent_record(channel=channel, skus=sent.keys(), values_of=merged)


def sku_mappings_price_sent_record(*, channel: SalesChannel, sent: Mapping[int, dict], at: datetime) -> int:
    """Record the prices VTEX accepted: ``sent`` maps a VTEX SKU id to the whole price sent (a price PUT
    replaces the SKU's price, catalog-sync.md §1.5.2). As ``sku_mappings_stock_sent_record``."""

    sent = {int(sku): body for sku, body in sent.items()}

    def replaced(row: SkuMapping) -> dict[str, object]:
        return {"last_price_sent": dict(sent[row.vtex_sku_id]), "last_price_at": _later(row.last_price_at, at)}

    return _sent_record(channel=channel, skus=sent.keys(), values_of=replaced)


def _later(recorded: datetime | None, at: datetime) -> datetime:
    return at if recorded is None or at > recorded else recorded


def _sent_record(*, channel: SalesChannel, skus: Iterable[int], values_of) -> int:
    skus = list(skus)
    if not skus:
        return 0
    now = timezone.now()
    by_fields: dict[tuple[str, ...], list[SkuMapping]] = {}
    with transaction.atomic():
        rows = SkuMapping.objects.select_for_update().filter(channel=channel, vtex_sku_id__in=skus)
        for row in rows.only("id", "vtex_sku_id", *_SENT_FIELDS):
            values = values_of(row)
            changed = tuple(field for field, value in values.items() if getattr(row, field) != value)
            if changed:
                for field in changed:
                    setattr(row, field, values[field])
                row.updated_at = now
                by_fields.setdefault(changed, []).append(row)
        for fields, changed_rows in by_fields.items():
            SkuMapping.objects.bulk_update(changed_rows, [*fields, "updated_at"], batch_size=500)
    return sum(len(r) for r in by_fields.values())


def sku_mapping_unmap(*, channel: SalesChannel, vtex_sku_id: int, message: str) -> SkuMapping | None:
    """VTEX does not know the SKU (a 404 on it, catalog-sync.md §3.5 step 5): the article holding it is
    unmapped, with ``message``, until matching finds its SKU again. Even a mapping set by hand: the SKU
    it names is gone. Returns the row, or None when no article of ``channel`` holds that SKU."""
    with transaction.atomic():
        row = SkuMapping.objects.select_for_update().filter(channel=channel, vtex_sku_id=vtex_sku_id).first()
        if row is None:
            return None
        row.vtex_sku_id, row.status, row.matched_by, row.message = None, SkuMappingStatus.UNMAPPED, "", message
        row.last_stock_sent, row.last_stock_at, row.last_price_sent, row.last_price_at = {}, None, {}, None
        row.save(update_fields=["vtex_sku_id", "status", "matched_by", "message", *_SENT_FIELDS, "updated_at"])
    return row
