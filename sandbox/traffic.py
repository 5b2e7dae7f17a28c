"""A realistic stream of customer orders and ERP follow-ups, driven against a running sandbox.

Everything goes over HTTP through the control API (`/_sim/...`), never through the simulators'
models, so the generator works against any sandbox process (the demo's, a benchmark's, a test's)
exactly like an outside actor would. It plays two people: customers ordering in VTEX, and the
warehouse working in the ERP (picking, delivery notes with parcels, late tracking, cancellations,
closing the rest, goods returns). It never does the portal's work (start-handling, invoices).

Determinism: every order's contents and fate come from ``Random(f"{seed}:order:{n}")`` and the
arrival times from ``Random(f"{seed}:arrivals")``. Follow-ups are kept in a heap keyed by their
planned time, not by when the HTTP calls happen to return, so a slow sandbox delays actions but
never reorders them: the same seed against a freshly reset sandbox gives the same actions and ids.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

# The seeded demo account of the VTEX simulator (sandbox/vtex/seed.py). Not imported: this module
# must not load the simulators' models, it may be pointed at a sandbox of another checkout.
DEMO_ACCOUNT = "demostore"
# The seeded ERP master data the mirrored orders use (sandbox/vario/seed.py, docs/sandbox-vario.md).
ERP_SALES_CHANNEL_ID = "7"
ERP_ACCOUNT_ID = "501"
ERP_PAYMENT_METHOD_ID = "2"  # Marktplatz-Zahlung: the customer paid VTEX, not the ERP

HTTP_TIMEOUT = (3.05, 15)
# How often, and how long apart, a follow-up looks for an ERP order the portal has not imported yet.
ERP_LOOKUP_ATTEMPTS = 5
ERP_LOOKUP_DELAY = 60.0


# --- catalogue ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    article_number: str  # VTEX refId = ERP article number: what the portal matches on
    sku_id: str
    product_id: str
    name: str
    price: int  # cents
    ean: str
    weight: int  # relative popularity


def _ean13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def _product(article_id: int, number: str, product: int, name: str, price: int, weight: int) -> Product:
    return Product(
        article_number=number,
        sku_id=str(2000 + article_id),
        product_id=str(100 + product),
        name=name,
        price=price,
        ean=_ean13(f"4006381{article_id:05d}"),
        weight=weight,
    )


def _catalogue() -> list[Product]:
    """The active articles the VARIO simulator seeds (ids, numbers, names, prices), as VTEX SKUs.

    VTEX SKU ids are deliberately not the ERP article ids, so a mapping that confuses them fails.
    """
    rows: list[Product] = []
    article_id = 76
    colours = [("RED", "rot"), ("BLUE", "blau"), ("BLACK", "schwarz"), ("WHITE", "weiß")]
    for product, (colour, german) in enumerate(colours, start=1):
        for size in ("S", "M", "L", "XL"):
            popularity = 6 if size in ("M", "L") else 3
            rows.append(
                _product(article_id, f"SKU-{colour}-{size}", product, f"T-Shirt {german} {size}", 1999, popularity)
            )
            article_id += 1
    for product, (colour, german) in enumerate(colours[2:], start=5):
        for size in range(38, 46):
            rows.append(_product(article_id, f"SHOE-{colour}-{size}", product, f"Sneaker {german} {size}", 8990, 1))
            article_id += 1
    rows.append(_product(article_id, "HOODIE-GREY-M", 7, "Hoodie grau M", 4900, 4))
    return rows


CATALOGUE = _catalogue()

# VTEX shipping option label → ERP carrier key and delivery method (sandbox/vario/seed.py).
CARRIERS = {
    "DHL": ("DHL Paket", "3"),
    "DPD": ("DPD Classic", "2"),
    "UPS": ("UPS Standard", "4"),
    "GLS": ("GLS Business Parcel", "5"),
    "HERMES": ("Hermes Paket", "6"),
}
CARRIER_WEIGHTS = {"DHL": 40, "DPD": 20, "HERMES": 15, "GLS": 15, "UPS": 10}

FIRST_NAMES = ["Anna", "Lukas", "Marie", "Jonas", "Sophie", "Felix", "Lea", "Paul", "Emma", "Leon", "Mia", "Elias"]
LAST_NAMES = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann", "Koch"]
CITIES = [
    ("10115", "Berlin"),
    ("20095", "Hamburg"),
    ("80331", "München"),
    ("50667", "Köln"),
    ("60311", "Frankfurt am Main"),
    ("70173", "Stuttgart"),
    ("04109", "Leipzig"),
    ("01067", "Dresden"),
]
STREETS = ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schulstraße", "Lindenallee", "Bergstraße", "Am Markt"]

SHIPPING_CENTS = 490
FREE_SHIPPING_FROM = 5000

# What happens to an order after it is placed, and how often.
FATES = {"ship": 45, "split": 20, "cancel": 10, "close-rest": 12, "return": 13}


def _tracking_number(rng: random.Random, carrier: str) -> str:
    """Numbers shaped like each carrier's (length and prefix), so they look right in the admin."""

    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    if carrier == "DHL":
        return "00340434" + digits(12)
    if carrier == "UPS":
        return "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(6)) + "68" + digits(8)
    if carrier == "DPD":
        return "0" + digits(13)
    if carrier == "GLS":
        return digits(12)
    return "H10" + digits(17)


# --- the plan of one order --------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One ERP action of an order, ``delay`` base seconds after the order's previous step."""

    delay: float
    kind: str  # picking | deliver | late-tracking | parcel | cancel | close-rest | return
    parcel: int | None = None  # which delivery note (0-based) deliver/late-tracking/parcel refer to
    lines: tuple[tuple[int, int], ...] | None = None  # (VTEX item index, quantity); None: all open
    carrier: str | None = None
    tracking: str | None = None


@dataclass
class TrafficOrder:
    """An order of the run: what the seed decided, and what happened to it in the sandbox."""

    number: int
    arrival: float
    items: list[dict]
    shipping_value: int
    carrier: str
    customer: dict
    address: dict
    fate: str
    steps: list[Step]
    vtex_order_id: str | None = None
    vtex_items: list[dict] = field(default_factory=list)
    erp_order_id: str | None = None
    erp_order_number: str | None = None
    erp_line_ids: dict[int, str] = field(default_factory=dict)
    delivery_ids: dict[int, str] = field(default_factory=dict)
    delivery_numbers: dict[int, str] = field(default_factory=dict)
    cursor: int = 0
    lookups: int = 0

    @property
    def units(self) -> int:
        return sum(item["quantity"] for item in self.items)

    @property
    def parcels(self) -> int:
        """Delivery notes the plan creates."""
        return sum(1 for s in self.steps if s.kind == "deliver")


def _pick_items(rng: random.Random) -> list[dict]:
    count = rng.choices([1, 2, 3, 4], weights=[50, 30, 15, 5])[0]
    chosen: list[Product] = []
    while len(chosen) < count:
        product = rng.choices(CATALOGUE, weights=[p.weight for p in CATALOGUE])[0]
        if product not in chosen:
            chosen.append(product)
    items = []
    for product in chosen:
        quantity = rng.choices([1, 2, 3], weights=[80, 15, 5])[0]
        selling = product.price
        if rng.random() < 0.2:  # a promotion on this line
            selling = product.price - round(product.price * rng.choice([0.1, 0.15, 0.2]))
        items.append(
            {
                "skuId": product.sku_id,
                "productId": product.product_id,
                "refId": product.article_number,
                "ean": product.ean,
                "name": product.name,
                "quantity": quantity,
                "price": product.price,
                "listPrice": product.price,
                "sellingPrice": selling,
            }
        )
    return items


def _customer(rng: random.Random, number: int) -> tuple[dict, dict]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    postcode, city = rng.choice(CITIES)
    ascii_last = last.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
    customer = {
        "email": f"{first.lower()}.{ascii_last.lower()}.{number}@example.com",
        "firstName": first,
        "lastName": last,
        "document": "",
        "documentType": "",
        "phone": f"+49151{rng.randrange(10**7, 10**8)}",
        "corporateName": None,
    }
    address = {
        "street": rng.choice(STREETS),
        "number": str(rng.randint(1, 120)),
        "complement": "",
        "neighborhood": "",
        "postalCode": postcode,
        "city": city,
        "state": "",
        "country": "DEU",
        "receiverName": f"{first} {last}",
    }
    return customer, address


def _units(items: list[dict], rng: random.Random) -> list[int]:
    units = [index for index, item in enumerate(items) for _ in range(item["quantity"])]
    rng.shuffle(units)
    return units


def _lines(units: list[int]) -> tuple[tuple[int, int], ...]:
    counts: dict[int, int] = {}
    for index in units:
        counts[index] = counts.get(index, 0) + 1
    return tuple(sorted(counts.items()))


def _deliveries(rng: random.Random, parcels: list[tuple[tuple[int, int], ...] | None], carrier: str) -> list[Step]:
    """Delivery steps; most parcels get their tracking number at delivery, some only later."""
    steps: list[Step] = []
    for number, lines in enumerate(parcels):
        parcel_carrier = carrier
        if number and rng.random() < 0.3:  # a later parcel goes with another carrier (bulky, express)
            parcel_carrier = rng.choice([c for c in CARRIERS if c != carrier])
        tracking = _tracking_number(rng, parcel_carrier)
        delay = rng.uniform(60, 600) if number == 0 else rng.uniform(300, 1800)
        if rng.random() < 0.8:
            steps.append(Step(delay, "deliver", number, lines, parcel_carrier, tracking))
        else:
            steps.append(Step(delay, "deliver", number, lines, parcel_carrier, None))
            steps.append(Step(rng.uniform(120, 900), "late-tracking", number, None, parcel_carrier, tracking))
    return steps


def _plan(*, seed: str, number: int, arrival: float) -> TrafficOrder:
    rng = random.Random(f"{seed}:order:{number}")  # noqa: S311 - demo data, not secrets
    items = _pick_items(rng)
    customer, address = _customer(rng, number)
    carrier = rng.choices(list(CARRIER_WEIGHTS), weights=list(CARRIER_WEIGHTS.values()))[0]
    goods = sum(i["sellingPrice"] * i["quantity"] for i in items)
    shipping = 0 if goods >= FREE_SHIPPING_FROM else SHIPPING_CENTS
    units = _units(items, rng)
    fate = rng.choices(list(FATES), weights=list(FATES.values()))[0]
    if fate in ("split", "close-rest") and len(units) < 2:
        fate = "ship"
    steps: list[Step] = []
    if fate == "cancel":
        if rng.random() < 0.3:
            steps.append(Step(rng.uniform(30, 300), "picking"))
        steps.append(Step(rng.uniform(60, 900), "cancel"))
    else:
        if rng.random() < 0.7:
            steps.append(Step(rng.uniform(30, 300), "picking"))
        if fate == "split":
            count = min(len(units), rng.choice([2, 2, 3]))
            cuts = sorted(rng.sample(range(1, len(units)), count - 1))
            chunks = [units[a:b] for a, b in zip([0, *cuts], [*cuts, len(units)], strict=True)]
            steps += _deliveries(rng, [_lines(chunk) for chunk in chunks], carrier)
        elif fate == "close-rest":
            shipped = units[: rng.randint(1, len(units) - 1)]
            steps += _deliveries(rng, [_lines(shipped)], carrier)
            steps.append(Step(rng.uniform(600, 1800), "close-rest"))
        else:
            steps += _deliveries(rng, [None], carrier)
            if fate == "ship" and len(units) >= 3 and rng.random() < 0.25:
                # A second box of the same delivery note, with its own tracking number.
                steps.append(Step(rng.uniform(0, 60), "parcel", 0, None, carrier, _tracking_number(rng, carrier)))
            if fate == "return":
                lines = None if rng.random() < 0.5 else ((rng.choice(units), 1),)
                steps.append(Step(rng.uniform(1200, 3600), "return", None, lines))
    return TrafficOrder(number, arrival, items, shipping, carrier, customer, address, fate, steps)


# --- talking to the sandbox --------------------------------------------------------------------------


class TrafficError(Exception):
    """The run cannot start (sandbox unreachable, unknown account, bad arguments)."""


class SimError(Exception):
    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"{status} {message}" if status else message)
        self.status = status


class _Sim:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()

    def call(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        try:
            response = self.session.request(
                method, f"{self.url}/_sim/{path}", json=body, params=params, timeout=HTTP_TIMEOUT
            )
        except requests.RequestException as exc:
            raise SimError(None, f"{type(exc).__name__}: {exc}") from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            message = data.get("error") if isinstance(data, dict) else None
            raise SimError(response.status_code, str(message or response.text[:200]))
        return data


# --- the run ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrafficAction:
    at: float  # planned seconds after the start (the same for the same seed, unlike wall time)
    order: int
    kind: str
    detail: str
    ok: bool = True

    def line(self, elapsed: float) -> str:
        mark = "" if self.ok else "SKIPPED "
        return f"[{elapsed:8.2f}s] #{self.order:<4} {self.kind:<14} {mark}{self.detail}"


@dataclass
class TrafficReport:
    seed: str
    account: str
    orders: list[TrafficOrder] = field(default_factory=list)
    actions: list[TrafficAction] = field(default_factory=list)
    stopped_by: str = ""
    dropped: int = 0  # follow-ups not run because the duration ran out or a signal came

    @property
    def skipped(self) -> int:
        return sum(1 for a in self.actions if not a.ok)


def _external_item_ids(line: dict) -> set[str]:
    custom = (line.get("custom") or {}).get("vtexportal") or {}
    return {value for value in (custom.get("externalItemId"), line.get("externalIdentifier")) if value}


def _erp_lines(order: TrafficOrder, document: dict) -> dict[int, str]:
    """ERP line id per VTEX item: by externalItemId (= uniqueId), then article number, then position."""
    lines = [line for line in document.get("lines", []) if line.get("lineType", "ARTICLE_LINE") == "ARTICLE_LINE"]
    mapping: dict[int, str] = {}
    for index, item in enumerate(order.vtex_items):
        match = next((line for line in lines if item.get("uniqueId") in _external_item_ids(line)), None)
        if match is None:
            same_article = [line for line in lines if line.get("number") == item.get("refId")]
            match = same_article[0] if len(same_article) == 1 else None
        if match is None and len(lines) == len(order.vtex_items):
            match = lines[index]
        if match is not None:
            mapping[index] = str(match["id"])
    return mapping


class _Runner:
    def __init__(self, *, sim: _Sim, report: TrafficReport, erp_mirror: bool, emit, started: float):
        self.sim = sim
        self.report = report
        self.erp_mirror = erp_mirror
        self.emit = emit
        self.started = started

    def record(self, at: float, order: TrafficOrder, kind: str, detail: str, ok: bool = True) -> None:
        action = TrafficAction(round(at, 3), order.number, kind, detail, ok)
        self.report.actions.append(action)
        self.emit(action.line(time.monotonic() - self.started))

    # orders ---------------------------------------------------------------------------------------

    def place(self, order: TrafficOrder, account: str) -> bool:
        body = {
            "accountName": account,
            "items": order.items,
            "shippingValue": order.shipping_value,
            "deliveryCompany": CARRIERS[order.carrier][0],
            "customer": order.customer,
            "address": order.address,
            "origin": "Marketplace",
            "currencyCode": "EUR",
            "locale": "de-DE",
        }
        try:
            created = self.sim.call("POST", "vtex/orders", body)
        except SimError as exc:
            self.record(order.arrival, order, "order", f"VTEX refused the order: {exc}", ok=False)
            return False
        order.vtex_order_id = created["orderId"]
        order.vtex_items = created.get("items", [])
        units = ", ".join(f"{i['quantity']}× {i['refId']}" for i in order.items)
        self.record(
            order.arrival,
            order,
            "order",
            f"{order.vtex_order_id} {created.get('status')}: {units}; {created['value'] / 100:.2f} EUR "
            f"incl. shipping {order.shipping_value / 100:.2f} via {order.carrier} ({order.fate})",
        )
        if self.erp_mirror:
            self.mirror(order)
        return True

    def mirror(self, order: TrafficOrder) -> None:
        """The ERP order the portal's import would create for it."""
        address = order.address
        body = {
            "externalIdentifier": order.vtex_order_id,
            "externalOrderId": order.vtex_order_id,
            "externalNumber": f"00-{order.vtex_order_id}",
            "salesChannelId": ERP_SALES_CHANNEL_ID,
            "accountId": ERP_ACCOUNT_ID,
            "deliveryMethodId": CARRIERS[order.carrier][1],
            "paymentMethodId": ERP_PAYMENT_METHOD_ID,
            "deliveryAddress": {
                "name1": address["receiverName"],
                "street": address["street"],
                "streetAddressNumber": address["number"],
                "postcode": address["postalCode"],
                "city": address["city"],
                "countryCode": "DEU",
            },
            "lines": [
                {
                    "articleNumber": item["refId"],
                    "quantity": item["quantity"],
                    "price": item["sellingPrice"] / 100,
                    "name": item["name"],
                    "externalItemId": item["uniqueId"],
                }
                for item in order.vtex_items
            ],
        }
        try:
            document = self.sim.call("POST", "vario/orders", body)
        except SimError as exc:
            self.record(order.arrival, order, "erp-import", f"ERP refused the order: {exc}", ok=False)
            return
        self._adopt(order, document)
        self.record(
            order.arrival,
            order,
            "erp-import",
            f"{order.erp_order_number} (id {order.erp_order_id}) for {order.vtex_order_id}",
        )

    def _adopt(self, order: TrafficOrder, document: dict) -> None:
        order.erp_order_id = str(document["id"])
        order.erp_order_number = document.get("number")
        order.erp_line_ids = _erp_lines(order, document)

    def find_erp_order(self, order: TrafficOrder) -> bool:
        """Without the mirror, the portal imports orders; find the one it made (by external id)."""
        if order.erp_order_id:
            return True
        found = self.sim.call("GET", "vario/orders", params={"externalIdentifier": order.vtex_order_id})
        if found:
            self._adopt(order, found[0])
            return True
        return False

    # follow-ups -----------------------------------------------------------------------------------

    def _lines(self, order: TrafficOrder, lines) -> list[dict] | None:
        if lines is None:
            return None
        missing = [index for index, _ in lines if index not in order.erp_line_ids]
        if missing:
            raise SimError(None, f"no ERP line for VTEX item(s) {missing}")
        return [{"orderLineId": order.erp_line_ids[index], "quantity": qty} for index, qty in lines]

    def _what(self, order: TrafficOrder, lines, everything: str = "everything open") -> str:
        if lines is None:
            return everything
        return ", ".join(f"{qty}× {order.items[index]['refId']}" for index, qty in lines)

    def step(self, order: TrafficOrder, step: Step) -> str:
        """Run one follow-up; returns the line to print. SimError means the sandbox said no."""
        erp = order.erp_order_id
        if step.kind == "picking":
            self.sim.call("POST", f"vario/orders/{erp}/picking")
            return f"{order.erp_order_number} picking started"
        if step.kind == "deliver":
            body: dict[str, Any] = {"carrier": step.carrier}
            if step.lines is not None:
                body["lines"] = self._lines(order, step.lines)
            if step.tracking:
                body["trackingNumber"] = step.tracking
            answer = self.sim.call("POST", f"vario/orders/{erp}/deliver", body)
            delivery = answer["delivery"]
            order.delivery_ids[step.parcel] = str(delivery["id"])
            order.delivery_numbers[step.parcel] = delivery["number"]
            tracking = f"{step.carrier} {step.tracking}" if step.tracking else "no tracking number yet"
            return (
                f"{order.erp_order_number} → {delivery['number']} (parcel {step.parcel + 1}/{order.parcels}): "
                f"{self._what(order, step.lines)}; {tracking}"
            )
        if step.kind in ("late-tracking", "parcel"):
            delivery_id = order.delivery_ids.get(step.parcel)
            if delivery_id is None:
                raise SimError(None, f"parcel {step.parcel + 1} was never delivered")
            body = {"carrier": step.carrier, "trackingNumber": step.tracking}
            self.sim.call("POST", f"vario/deliveries/{delivery_id}/parcels", body)
            what = "tracking added late to" if step.kind == "late-tracking" else "second box for"
            return f"{what} {order.delivery_numbers[step.parcel]}: {step.carrier} {step.tracking}"
        if step.kind == "cancel":
            self.sim.call("POST", f"vario/orders/{erp}/cancel")
            return f"{order.erp_order_number} cancelled in the ERP before delivery"
        if step.kind == "close-rest":
            self.sim.call("POST", f"vario/orders/{erp}/close-remaining")
            return f"{order.erp_order_number} rest closed after the partial delivery"
        if step.kind == "return":
            lines = self._lines(order, step.lines)
            goods_return = self.sim.call("POST", f"vario/orders/{erp}/return", {"lines": lines} if lines else None)
            what = self._what(order, step.lines, "everything delivered")
            return f"{order.erp_order_number} → {goods_return['number']}: returned {what}"
        raise ValueError(step.kind)


def traffic_run(
    *,
    url: str,
    rate_per_minute: float = 6.0,
    count: int | None = None,
    duration: float | None = None,
    seed: int | str | None = None,
    speed: float = 1.0,
    account: str = DEMO_ACCOUNT,
    erp_mirror: bool = True,
    emit: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> TrafficReport:
    """Place ``count`` orders (or as many as ``duration`` seconds allow) at ``rate_per_minute`` on
    average, and run each order's ERP follow-ups ``speed`` times faster than their base delays.

    Stops after the last follow-up of the last order, when ``duration`` runs out, or when ``stop``
    is set. Refusals of the sandbox are printed and skipped. Raises TrafficError only before the run.
    """
    if count is None and duration is None:
        raise TrafficError("give count or duration: the run must end by itself")
    if count is not None and count < 1:
        raise TrafficError("count must be at least 1")
    if duration is not None and duration <= 0:
        raise TrafficError("duration must be positive")
    if rate_per_minute <= 0 or speed <= 0:
        raise TrafficError("rate and speed must be positive")
    seed = str(random.SystemRandom().randrange(10**9) if seed is None else seed)
    stop = stop or threading.Event()
    sim = _Sim(url)
    try:
        accounts = sim.call("GET", "vtex/accounts")
    except SimError as exc:
        raise TrafficError(f"the sandbox at {url} does not answer its control API: {exc}") from exc
    name = next((a["accountName"] for a in accounts if account in (a["accountName"], a["appKey"])), None)
    if name is None:
        known = ", ".join(f"{a['accountName']} ({a['appKey']})" for a in accounts) or "none"
        raise TrafficError(f"unknown VTEX account or appKey {account!r}; the sandbox has: {known}")

    report = TrafficReport(seed=seed, account=name)
    started = time.monotonic()
    runner = _Runner(sim=sim, report=report, erp_mirror=erp_mirror, emit=emit, started=started)
    emit(
        f"sandbox traffic → {url}: account {name}, {rate_per_minute:g} orders/min, speed ×{speed:g}, seed {seed}"
        + (", no ERP mirror" if not erp_mirror else "")
    )
    arrivals = random.Random(f"{seed}:arrivals")  # noqa: S311 - demo data, not secrets
    next_arrival = 0.0
    due: list[tuple[float, int, int]] = []  # (planned time, tie-breaker, order number)
    sequence = 0
    orders: dict[int, TrafficOrder] = {}

    def schedule(order: TrafficOrder, after: float) -> None:
        nonlocal sequence
        if order.cursor < len(order.steps):
            sequence += 1
            heapq.heappush(due, (after + order.steps[order.cursor].delay / speed, sequence, order.number))

    while True:
        more_orders = (count is None or len(orders) < count) and (duration is None or next_arrival < duration)
        if not more_orders and not due:
            report.stopped_by = "count" if count is not None and len(orders) >= count else "duration"
            break
        arrival = more_orders and (not due or next_arrival <= due[0][0])
        at = next_arrival if arrival else due[0][0]
        if duration is not None and at >= duration:
            stop.wait(max(0.0, started + duration - time.monotonic()))
            report.stopped_by = "signal" if stop.is_set() else "duration"
            break
        if stop.wait(max(0.0, started + at - time.monotonic())):
            report.stopped_by = "signal"
            break
        if arrival:
            order = _plan(seed=seed, number=len(orders) + 1, arrival=at)
            orders[order.number] = order
            report.orders.append(order)
            next_arrival = at + arrivals.expovariate(rate_per_minute / 60)
            if runner.place(order, name):
                schedule(order, at)
            continue
        at, _, number = heapq.heappop(due)
        order = orders[number]
        step = order.steps[order.cursor]
        try:
            if not runner.find_erp_order(order):
                order.lookups += 1
                if order.lookups < ERP_LOOKUP_ATTEMPTS:
                    sequence += 1
                    heapq.heappush(due, (at + ERP_LOOKUP_DELAY / speed, sequence, number))
                    continue
                left = len(order.steps) - order.cursor
                runner.record(
                    at,
                    order,
                    step.kind,
                    f"{order.vtex_order_id} never reached the ERP; {left} follow-ups given up",
                    ok=False,
                )
                order.cursor = len(order.steps)
                continue
            runner.record(at, order, step.kind, runner.step(order, step))
        except SimError as exc:
            runner.record(at, order, step.kind, str(exc), ok=False)
        order.cursor += 1
        schedule(order, at)

    report.dropped = sum(len(o.steps) - o.cursor for o in orders.values() if o.vtex_order_id)
    elapsed = time.monotonic() - started
    emit(
        f"done after {elapsed:.1f}s ({report.stopped_by}): {len(report.orders)} orders, "
        f"{len(report.actions)} actions, {report.skipped} skipped, {report.dropped} follow-ups not run; seed {seed}"
    )
    return report
