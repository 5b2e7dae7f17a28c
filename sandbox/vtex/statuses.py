"""OMS workflow statuses (reference/vtex.md §8) and the paths the simulator walks orders along."""

from __future__ import annotations

ORDER_CREATED = "order-created"
ON_ORDER_COMPLETED = "on-order-completed"
WAITING_FOR_AUTHORIZATION = "waiting-for-authorization"
PAYMENT_PENDING = "payment-pending"
APPROVE_PAYMENT = "approve-payment"
PAYMENT_APPROVED = "payment-approved"
WAITING_FOR_MANUAL_AUTHORIZATION = "waiting-for-manual-authorization"
WAITING_FFMT_AUTHORIZATION = "waiting-ffmt-authorization"
AUTHORIZE_FULFILLMENT = "authorize-fulfillment"
WINDOW_TO_CANCEL = "window-to-cancel"
READY_FOR_HANDLING = "ready-for-handling"
START_HANDLING = "start-handling"
HANDLING = "handling"
WAITING_FOR_FULFILLMENT = "waiting-for-fulfillment"
READY_FOR_INVOICING = "ready-for-invoicing"
INVOICE = "invoice"
INVOICED = "invoiced"
CANCELLATION_REQUESTED = "cancellation-requested"
CANCEL = "cancel"
CANCELED = "canceled"
REPLACED = "replaced"

# Admin labels (help center "Order flow and status"); shown as statusDescription.
LABELS = {
    ORDER_CREATED: "Processando",
    ON_ORDER_COMPLETED: "Processando",
    "order-accepted": "Pedido aceito",
    WAITING_FOR_AUTHORIZATION: "Aguardando confirmação do seller",
    PAYMENT_PENDING: "Pagamento Pendente",
    APPROVE_PAYMENT: "Aprovar pagamento",
    PAYMENT_APPROVED: "Pagamento Aprovado",
    WAITING_FOR_MANUAL_AUTHORIZATION: "Aguardando autorização para despachar",
    WAITING_FFMT_AUTHORIZATION: "Aguardando autorização do marketplace",
    AUTHORIZE_FULFILLMENT: "Aguardando autorização para despachar",
    WINDOW_TO_CANCEL: "Carência para cancelamento",
    READY_FOR_HANDLING: "Pronto para o manuseio",
    START_HANDLING: "Iniciar manuseio",
    HANDLING: "Preparando Entrega",
    WAITING_FOR_FULFILLMENT: "Aguardando atendimento",
    READY_FOR_INVOICING: "Pronto para faturamento",
    INVOICE: "Verificando Envio",
    INVOICED: "Faturado",
    CANCELLATION_REQUESTED: "Cancelamento solicitado",
    CANCEL: "Cancelando",
    CANCELED: "Cancelado",
    REPLACED: "Substituído",
}
KNOWN = frozenset(LABELS) | {
    "on-order-completed-ffm",
    "waiting-for-order-authorization",
    "waiting-for-mkt-authorization",
    "waiting-seller-handling",
    "release-to-fulfillment",
    "window-to-change-seller",
    "window-to-change-payment",
    "request-cancel",
    "waiting-for-seller-decision",
    "invoice-after-cancellation-deny",
    "order-create-error",
    "order-creation-error",
}

# reference §8.2: the seller/complete path up to the point where the ERP takes the order.
PRE_HANDLING_PATH = [
    ORDER_CREATED,
    ON_ORDER_COMPLETED,
    WAITING_FOR_AUTHORIZATION,
    PAYMENT_PENDING,
    APPROVE_PAYMENT,
    PAYMENT_APPROVED,
    AUTHORIZE_FULFILLMENT,
    WINDOW_TO_CANCEL,
    READY_FOR_HANDLING,
]
# Where an order may be parked on creation although it is off the straight path.
SIDE_STATUSES = {WAITING_FOR_MANUAL_AUTHORIZATION: ON_ORDER_COMPLETED, WAITING_FFMT_AUTHORIZATION: ON_ORDER_COMPLETED}

# Set by the platform itself: no manual change or cancellation (reference §3.2, §8.1 "*").
AUTOMATIC = frozenset({ORDER_CREATED, START_HANDLING, INVOICE, CANCEL})
FINAL = frozenset({INVOICED, CANCELED, REPLACED})

# Channel Order API approval (reference §7): an external-marketplace order waits for the connector's
# "approved" in these statuses; waiting-for-manual-authorization answers EOI011, anything else EOI009.
AWAITING_MARKETPLACE_APPROVAL = frozenset({ON_ORDER_COMPLETED, WAITING_FOR_AUTHORIZATION, PAYMENT_PENDING})
PRICE_DIVERGENCE = frozenset({WAITING_FOR_MANUAL_AUTHORIZATION})

# Order modifications (reference §13; the spec's "ready for invoicing").
MODIFIABLE = frozenset({HANDLING, WAITING_FOR_FULFILLMENT, READY_FOR_INVOICING})


def path_from(current: str, target: str) -> list[str]:
    """The statuses after ``current`` up to ``target`` along the pre-handling path ([] if not ahead)."""
    if current not in PRE_HANDLING_PATH or target not in PRE_HANDLING_PATH:
        return []
    start, end = PRE_HANDLING_PATH.index(current), PRE_HANDLING_PATH.index(target)
    return PRE_HANDLING_PATH[start + 1 : end + 1]
