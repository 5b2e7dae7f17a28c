"""The catalog's REST reads of VARIO's contract (reference/catalog-sync.md §2.1): storages and RRPs.

Stock, prices and listings are read through VQL (``sandbox.vario.vql``, §3.3); these two routes are the
confirmed REST paths the working contract names beside them.
"""

from __future__ import annotations

from sandbox.vario.catalog import rrp_json, storage_json
from sandbox.vario.models import RecommendedRetailPrice, Storage
from sandbox.vario.views import _detail_view

storage_detail = _detail_view(Storage, storage_json, "Storage")
recommended_retail_price_detail = _detail_view(
    RecommendedRetailPrice, rrp_json, "RecommendedRetailPrice", related=("article",)
)
