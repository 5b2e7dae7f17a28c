"""Stock and prices, ERP → VTEX (issue #16): a room of its own (design §3), a Django app (label ``catalog``).

VARIO's stock, price and listing webhooks become coalesced work items per (channel, topic, article)
(``intake``), a debounced job per (channel, topic) takes a batch of them, reads the ERP for the whole batch
at once, plans (``plan``, pure) and pushes to VTEX Logistics and Pricing only what differs from what was
last sent (``push``); ``skus`` matches VARIO articles to VTEX SKUs. docs/catalog.md says what is pushed when.
"""
