"""RQ jobs of the catalog flow: ids in, one service call each (enqueued by dotted path from ``sync.queue``)."""

from __future__ import annotations

import logging

from sync.catalog.push import catalog_batch_run, catalog_sweep
from sync.catalog.skus import sku_mappings_match_channel

logger = logging.getLogger(__name__)


def catalog_push_job(channel_id: int, topic: str) -> None:
    """One batch of a channel's stock, price or matching work."""
    report = catalog_batch_run(channel_id=channel_id, topic=topic)
    if report.taken:
        logger.info("catalog %s batch of channel %s: %s, %d sent", topic, channel_id, report.ends, report.sent)


def catalog_sweep_job() -> None:
    catalog_sweep()


def sku_mappings_match_job(channel_code: str) -> None:
    """Every listed article of a channel matched with VTEX (the admin's and the command's whole-channel match)."""
    report = sku_mappings_match_channel(channel_code=channel_code)
    if report is not None:
        logger.info("SKU matching of channel %s: %d listed, %s", channel_code, report.listed, report.counts)
