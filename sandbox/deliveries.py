"""Calls the simulators make to the outside: VTEX hook notifications, VARIO webhooks, callbacks.

Deliveries are rows, so they survive a restart and tests can read them back. A background thread
in the sandbox process (``start_dispatcher``) sends the due ones; tests may call
``deliveries_dispatch_due`` directly. Failed attempts are retried after ``retry_delays``; when the
delays are used up the delivery is ERRONEOUS (VARIO's term).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import requests
from django.conf import settings
from django.db import close_old_connections

from sandbox import clock
from sandbox.models import Delivery, DeliveryState
from sandbox.registry import header_provider

logger = logging.getLogger(__name__)
RESPONSE_LOG_LIMIT = 2000
_session = requests.Session()


def delivery_enqueue(
    *,
    kind: str,
    url: str,
    body: object,
    event: str = "",
    headers: dict[str, str] | None = None,
    retry_delays: list[float] | None = None,
    expect_status: int | None = None,
) -> Delivery:
    now = clock.now()
    return Delivery.objects.create(
        kind=kind,
        event=event,
        url=url,
        body=body,
        headers=headers or {},
        retry_delays=list(settings.SANDBOX_WEBHOOK_RETRY_DELAYS if retry_delays is None else retry_delays),
        expect_status=expect_status,
        next_attempt_at=now,
        created_at=now,
    )


def delivery_attempt(delivery: Delivery) -> Delivery:
    headers = {"Content-Type": "application/json", **delivery.headers}
    provider = header_provider(delivery.kind)
    if provider:
        headers.update(provider(delivery))
    delivery.attempts += 1
    try:
        response = _session.post(
            delivery.url, json=delivery.body, headers=headers, timeout=settings.SANDBOX_DELIVERY_TIMEOUT
        )
        delivery.last_status = response.status_code
        delivery.last_response = response.text[:RESPONSE_LOG_LIMIT]
        delivery.last_error = ""
        ok = (
            response.status_code == delivery.expect_status
            if delivery.expect_status
            else 200 <= response.status_code < 300
        )
    except requests.RequestException as exc:
        delivery.last_status = None
        delivery.last_response = ""
        delivery.last_error = f"{type(exc).__name__}: {exc}"[:RESPONSE_LOG_LIMIT]
        ok = False
    now = clock.now()
    if ok:
        delivery.state = DeliveryState.SENT
        delivery.sent_at = now
    elif delivery.attempts > len(delivery.retry_delays):
        delivery.state = DeliveryState.ERRONEOUS
    else:
        delivery.state = DeliveryState.FAILED
        delivery.next_attempt_at = now + timedelta(seconds=delivery.retry_delays[delivery.attempts - 1])
    delivery.save()
    return delivery


def deliveries_dispatch_due(*, limit: int = 100) -> int:
    """Attempt every delivery that is due now; returns how many were attempted."""
    due = list(
        Delivery.objects.filter(
            state__in=[DeliveryState.QUEUED, DeliveryState.FAILED], next_attempt_at__lte=clock.now()
        ).order_by("next_attempt_at", "id")[:limit]
    )
    for delivery in due:
        delivery_attempt(delivery)
    return len(due)


def _loop(stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            close_old_connections()
            busy = deliveries_dispatch_due()
        except Exception:
            logger.exception("sandbox delivery loop failed; continuing")
            busy = 0
        if not busy:
            stop.wait(settings.SANDBOX_DISPATCH_INTERVAL)


def start_dispatcher() -> threading.Event:
    stop = threading.Event()
    threading.Thread(target=_loop, args=(stop,), name="sandbox-deliveries", daemon=True).start()
    return stop
