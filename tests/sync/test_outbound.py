"""The outbound sync (sync/outbound.py): its guards before it touches VTEX, and its table of senders."""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

import pytest

from sync import outbound
from sync.outcomes import Conflict, Failed, NotYet
from sync.plan import Action
from tests.factories import OrderSyncFactory
from tests.sync.builders import erp_order, order_line

pytestmark = pytest.mark.django_db


class OneDocumentVario:
    def __init__(self, document):
        self.document = document

    def get_document(self, document_id):
        return self.document


class NoCallsVtex:
    def __getattr__(self, name):
        pytest.fail(f"VTEX must not be called ({name})")


def test_an_order_of_another_vario_sales_channel_fails_before_anything_is_sent(channel, monkeypatch):
    # The inbox takes the channel from a delivery note; the order itself has the last word.
    channel.vario_sales_channel_id = "7"
    channel.save()
    order = replace(erp_order([order_line(1)], number="AU-10042"), sales_channel_id="8")
    monkeypatch.setattr(outbound, "vario_client", lambda recorder=None: OneDocumentVario(order))
    monkeypatch.setattr(outbound, "vtex_client_for", lambda *a, **k: NoCallsVtex())
    sync = OrderSyncFactory(channel=channel, key="1042")

    outcome = outbound.order_status_work(sync, recorder=None, lock=None)

    assert isinstance(outcome, Failed)
    assert outcome.message == "ERP order AU-10042 belongs to VARIO sales channel 8, not to 7 of sales channel shop"


def test_every_action_the_plan_returns_has_a_sender_and_its_verdicts_have_none():
    plan_actions = set(get_args(Action))

    assert set(outbound.SENDERS) == plan_actions - {Conflict, NotYet}
