"""Errors the VTEX simulator answers with, in VTEX's shapes."""

from __future__ import annotations

from sandbox.http import json_response


class OmsError(Exception):
    """An OMS refusal: ``{"error": {"code", "message", "exception": null}}`` with an HTTP status.

    Codes VTEX is known to use are used as such (``1``, ``OMS003``, ``OMS007``). Where VTEX's code is
    not published the simulator uses a code starting with ``SBX-`` so nobody mistakes it for VTEX's.
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "exception": None}}

    def response(self):
        return json_response(self.body(), status=self.status)


def bad_request(code: str, message: str) -> OmsError:
    return OmsError(400, code, message)


def order_not_found() -> OmsError:
    # Seen on real accounts for an unknown order id.
    return OmsError(404, "OMS007", "Order Not Found")


class ChannelError(Exception):
    """A synchronous Channel Order API refusal, answered in the integration contract (EOI005)."""

    def __init__(self, marketplace_order_id, message: str) -> None:
        super().__init__(message)
        self.marketplace_order_id = marketplace_order_id
        self.message = message

    def body(self) -> dict:
        return {
            "marketplaceOrderId": self.marketplace_order_id if isinstance(self.marketplace_order_id, str) else None,
            "accountName": None,
            "code": "EOI005",
            "flow": "ApproveOrder",
            "success": False,
            "operationId": None,
            "errors": [{"source": "Order Integration", "code": "EOI005", "description": self.message}],
            "fields": None,
            "message": self.message,
        }


class ControlError(Exception):
    """A refused control API call (plain ``{"error": "..."}`` like the rest of /_sim/)."""
