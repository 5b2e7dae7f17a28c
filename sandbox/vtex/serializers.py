"""Orders in VTEX's JSON shapes: Get order (reference §2) and the List orders row."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sandbox.vtex import statuses as st
from sandbox.vtex.models import Order, Package, PackageType

CURRENCY_SYMBOLS = {"CZK": "Kč", "EUR": "€", "BRL": "R$", "USD": "$", "PLN": "zł"}
CURRENCY_LCIDS = {"CZK": 1029, "EUR": 1031, "BRL": 1046, "USD": 1033, "PLN": 1045}


def iso(moment: datetime | None) -> str | None:
    """Order dates: ISO 8601 with six fraction digits and an offset, as Get order shows them."""
    return moment.isoformat(timespec="microseconds") if moment else None


def _totals(order: Order) -> list[dict]:
    items = sum(line["price"] * line["quantity"] for line in order.items)
    selling = sum(line["sellingPrice"] * line["quantity"] for line in order.items)
    return [
        {"id": "Items", "name": "Total dos Itens", "value": items},
        {"id": "Discounts", "name": "Total dos Descontos", "value": selling - items},
        {"id": "Shipping", "name": "Total do Frete", "value": order.shipping_value},
        {"id": "Tax", "name": "Total da Taxa", "value": 0},
    ]


def _item(order: Order, line: dict) -> dict:
    return {
        "uniqueId": line["uniqueId"],
        "id": line["id"],
        "productId": line["productId"],
        "ean": line.get("ean"),
        "lockId": order.ids.get("lockId", ""),
        "itemAttachment": {"content": {}, "name": None},
        "attachments": [],
        "quantity": line["quantity"],
        "seller": line["seller"],
        "name": line["name"],
        "refId": line["refId"],
        "price": line["price"],
        "listPrice": line["listPrice"],
        "manualPrice": None,
        "priceTags": [],
        "imageUrl": line["imageUrl"],
        "detailUrl": line["detailUrl"],
        "components": [],
        "bundleItems": [],
        "params": [],
        "offerings": [],
        "attachmentOfferings": [],
        "sellerSku": line["id"],
        "priceValidUntil": None,
        "commission": 0,
        "tax": 0,
        "preSaleDate": None,
        "additionalInfo": {
            "brandName": "Sandbox",
            "brandId": "2000000",
            "categoriesIds": "/1/",
            "categories": [],
            "productClusterId": "",
            "commercialConditionId": "1",
            "dimension": {"cubicweight": 1.0, "height": 10, "length": 10, "weight": 500, "width": 10},
            "offeringInfo": None,
            "offeringType": None,
            "offeringTypeId": None,
        },
        "measurementUnit": line["measurementUnit"],
        "unitMultiplier": line["unitMultiplier"],
        "sellingPrice": line["sellingPrice"],
        "isGift": False,
        "shippingPrice": None,
        "rewardValue": 0,
        "freightCommission": 0,
        # VTEX's example (and real answers) say priceDefinition; the schema says priceDefinitions.
        "priceDefinition": {
            "sellingPrices": [{"value": line["sellingPrice"], "quantity": line["quantity"]}],
            "calculatedSellingPrice": line["sellingPrice"],
            "total": line["sellingPrice"] * line["quantity"],
        },
        "taxCode": None,
        "parentItemIndex": None,
        "parentAssemblyBinding": None,
        "callCenterOperator": None,
        "serialNumbers": None,
        "assemblies": [],
        "costPrice": line["sellingPrice"],
    }


def _address(order: Order) -> dict:
    a = order.address
    customer = order.customer
    return {
        "addressType": "residential",
        "receiverName": a.get("receiverName") or f"{customer['firstName']} {customer['lastName']}",
        "addressId": order.ids.get("addressId", ""),
        "versionId": None,
        "entityId": None,
        "postalCode": a["postalCode"],
        "city": a["city"],
        "state": a["state"],
        "country": a["country"],
        "street": a["street"],
        "number": a["number"],
        "neighborhood": a["neighborhood"],
        "complement": a["complement"],
        "reference": None,
        "geoCoordinates": [],
    }


def _logistics(order: Order) -> list[dict]:
    estimate_date = iso(order.creation_date + timedelta(days=3))
    # Freight is split over the lines; the first line takes the rounding remainder.
    count = len(order.items)
    shares = [order.shipping_value // count] * count
    shares[0] += order.shipping_value - sum(shares)
    pickup = {"isPickupStore": False, "friendlyName": None, "address": None, "additionalInfo": None, "dockId": None}
    rows = []
    for index, line in enumerate(order.items):
        rows.append(
            {
                "itemIndex": index,
                "selectedSla": order.sla,
                "lockTTL": "10d",
                "price": shares[index],
                "listPrice": shares[index],
                "sellingPrice": shares[index],
                "deliveryWindow": None,
                "deliveryCompany": order.delivery_company,
                "shippingEstimate": "3bd",
                "shippingEstimateDate": estimate_date,
                "slas": [
                    {
                        "id": order.sla,
                        "name": order.sla,
                        "shippingEstimate": "3bd",
                        "deliveryWindow": None,
                        "price": shares[index],
                        "deliveryChannel": "delivery",
                        "pickupStoreInfo": pickup,
                        "polygonName": None,
                        "lockTTL": "10d",
                        "pickupPointId": "",
                        "transitTime": "3bd",
                        "pickupDistance": 0.0,
                    }
                ],
                "shipsTo": [order.address["country"]],
                "deliveryIds": [
                    {
                        "courierId": "1",
                        "courierName": order.delivery_company,
                        "dockId": "1",
                        "quantity": line["quantity"],
                        "warehouseId": "1_1",
                        "accountCarrierName": order.delivery_company,
                        "kitItemDetails": [],
                    }
                ],
                "deliveryChannels": [{"id": "delivery", "stockBalance": 0}],
                "selectedDeliveryChannel": "delivery",
                "pickupStoreInfo": pickup,
                "addressId": order.ids.get("addressId"),
                "versionId": None,
                "entityId": None,
                "polygonName": None,
                "pickupPointId": None,
                "transitTime": "3bd",
            }
        )
    return rows


def _package(order: Order, package: Package) -> dict:
    # KI 1330069: with invoiceValue >= the order value, GET order shows the product name instead of
    # the invoice's own item description; a missing description is always the product name.
    reconstruct = package.type == PackageType.OUTPUT and package.invoice_value >= order.value
    items = []
    for item in package.items:
        name = order.items[item["itemIndex"]]["name"]
        description = name if reconstruct or not item.get("description") else item["description"]
        items.append(
            {
                "itemIndex": item["itemIndex"],
                "quantity": item["quantity"],
                "price": item["price"],
                "description": description,
                "unitMultiplier": 1.0,
            }
        )
    return {
        "items": items,
        "courier": package.courier,
        "invoiceNumber": package.invoice_number,
        "invoiceValue": package.invoice_value,
        "invoiceUrl": package.invoice_url,
        "issuanceDate": package.issuance_date,
        "trackingNumber": package.tracking_number,
        "invoiceKey": package.invoice_key,
        "trackingUrl": package.tracking_url,
        "embeddedInvoice": package.embedded_invoice or "",
        "type": package.type,
        "courierStatus": package.courier_status,
        "cfop": None,
        "restitutions": package.restitutions,
        "volumes": 0,
        "EnableInferItems": None,
    }


def _changes_attachment(order: Order) -> dict | None:
    changes = list(order.changes.all())
    if not changes:
        return None
    return {
        "id": "changeAttachment",
        "changesData": [
            {
                "reason": change.reason,
                "discountValue": -change.total_change_value,
                "incrementValue": 0,
                "itemsAdded": [],
                "itemsRemoved": [
                    {
                        "id": r["id"],
                        "name": r["name"],
                        "quantity": r["quantity"],
                        "price": r["price"],
                        "unitMultiplier": None,
                    }
                    for r in change.items_removed
                ],
                "receipt": {"date": iso(change.date), "orderId": order.order_id, "receipt": change.receipt},
            }
            for change in changes
        ],
    }


def _allow_cancellation(order: Order) -> bool:
    invoiced = any(p.type == PackageType.OUTPUT for p in order.packages.all())
    return not invoiced and order.status not in st.FINAL and order.status not in st.AUTOMATIC


def order_json(order: Order) -> dict:
    """The Get order answer (``GET /api/oms/pvt/orders/{orderId}``)."""
    account = order.account.account_name
    customer = order.customer
    currency = order.currency_code
    body = {
        "orderId": order.order_id,
        "sequence": order.sequence,
        "marketplaceOrderId": order.marketplace_order_id,
        "sellerOrderId": f"00-{order.order_id}",
        "origin": order.origin,
        "affiliateId": order.affiliate_id,
        "salesChannel": order.sales_channel,
        "merchantName": None,
        "status": order.status,
        "workflowIsInError": False,
        "statusDescription": st.LABELS.get(order.status, ""),
        "value": order.value,
        "creationDate": iso(order.creation_date),
        "lastChange": iso(order.last_change),
        "orderGroup": order.order_id.removesuffix("-01"),
        "followUpEmail": f"{order.ids.get('userProfileId', '')[:12]}@ct.vtex.com.br",
        "lastMessage": None,
        "hostname": account,
        "isCompleted": True,
        "roundingError": 0,
        "orderFormId": order.ids.get("orderFormId", ""),
        "allowCancellation": _allow_cancellation(order),
        "allowEdition": False,
        "isCheckedIn": False,
        "authorizedDate": iso(order.authorized_date),
        "invoicedDate": iso(order.invoiced_date),
        "cancelReason": order.cancel_reason,
        "checkedInPickupPointId": None,
        "totals": _totals(order),
        "sellers": [
            {
                "id": "1",
                "name": account,
                "logo": "",
                "fulfillmentEndpoint": f"http://fulfillment.vtexcommerce.com.br/api/fulfillment?an={account}",
            }
        ],
        "clientPreferencesData": {"locale": order.locale, "optinNewsLetter": False},
        "cancellationData": order.cancellation_data,
        "taxData": None,
        "subscriptionData": None,
        "itemMetadata": {
            "Items": [
                {
                    "Id": line["id"],
                    "Seller": line["seller"],
                    "Name": line["name"],
                    "SkuName": line["name"],
                    "ProductId": line["productId"],
                    "RefId": line["refId"],
                    "Ean": line.get("ean") or "",
                    "ImageUrl": line["imageUrl"],
                    "DetailUrl": line["detailUrl"],
                    "AssemblyOptions": [],
                }
                for line in order.items
            ]
        },
        "marketplace": {
            "baseURL": f"http://oms.vtexinternal.com.br/api/oms?an={account}",
            "isCertified": None,
            "name": account,
        },
        "storePreferencesData": {
            "countryCode": order.country_code,
            "currencyCode": currency,
            "currencyFormatInfo": {
                "CurrencyDecimalDigits": 2,
                "CurrencyDecimalSeparator": ",",
                "CurrencyGroupSeparator": ".",
                "CurrencyGroupSize": 3,
                "StartsWithCurrencySymbol": currency != "CZK",
            },
            "currencyLocale": CURRENCY_LCIDS.get(currency, 1033),
            "currencySymbol": CURRENCY_SYMBOLS.get(currency, currency),
            "timeZone": "Central Europe Standard Time",
        },
        "customData": None,
        "commercialConditionData": None,
        "openTextField": None,
        "invoiceData": None,
        "changesAttachment": _changes_attachment(order),
        "callCenterOperatorData": None,
        "packageAttachment": {"packages": [_package(order, p) for p in order.packages.all()]},
        "paymentData": {
            "giftCards": [],
            "transactions": [
                {
                    "isActive": True,
                    "transactionId": order.ids.get("transactionId", "").upper(),
                    "merchantName": account.upper(),
                    "payments": [
                        {
                            "id": order.ids.get("paymentId", "").upper(),
                            "paymentSystem": "2",
                            "paymentSystemName": "Visa",
                            "value": order.value,
                            "installments": 1,
                            "referenceValue": order.value,
                            "cardHolder": None,
                            "cardNumber": None,
                            "firstDigits": "411111",
                            "lastDigits": "1111",
                            "cvv2": None,
                            "expireMonth": None,
                            "expireYear": None,
                            "url": None,
                            "giftCardId": None,
                            "giftCardName": None,
                            "giftCardCaption": None,
                            "redemptionCode": None,
                            "group": "creditCard",
                            "tid": order.ids.get("transactionId", "")[:20],
                            "dueDate": None,
                            "connectorResponses": {},
                            "giftCardProvider": None,
                            "giftCardAsDiscount": None,
                            "koinUrl": None,
                            "accountId": None,
                            "parentAccountId": None,
                            "bankIssuedInvoiceIdentificationNumber": None,
                            "bankIssuedInvoiceIdentificationNumberFormatted": None,
                            "bankIssuedInvoiceBarCodeNumber": None,
                            "bankIssuedInvoiceBarCodeType": None,
                            "billingAddress": None,
                            "paymentOrigin": None,
                        }
                    ],
                }
            ],
        },
        "shippingData": {
            "id": "shippingData",
            "address": _address(order),
            "logisticsInfo": _logistics(order),
            "trackingHints": None,
            "selectedAddresses": [
                {k: v for k, v in _address(order).items() if k in SELECTED_ADDRESS_FIELDS},
            ],
            "contactInformation": [],
        },
        "ratesAndBenefitsData": {"id": "ratesAndBenefitsData", "rateAndBenefitsIdentifiers": []},
        "marketingData": None,
        "giftRegistryData": None,
        "clientProfileData": {
            "id": "clientProfileData",
            "email": customer["email"],
            "firstName": customer["firstName"],
            "lastName": customer["lastName"],
            "documentType": customer["documentType"],
            "document": customer["document"],
            "phone": customer["phone"],
            "corporateName": customer.get("corporateName"),
            "tradeName": None,
            "corporateDocument": customer.get("corporateDocument"),
            "stateInscription": None,
            "corporatePhone": None,
            "isCorporate": bool(customer.get("corporateName")),
            "userProfileId": order.ids.get("userProfileId", ""),
            "userProfileVersion": None,
            "customerClass": None,
            "customerCode": None,
        },
        "items": [_item(order, line) for line in order.items],
        "marketplaceItems": [],
    }
    if order.marketplace_services_endpoint:
        body["marketplaceServicesEndpoint"] = order.marketplace_services_endpoint
    if order.cancellation_requests:
        body["cancellationRequests"] = [
            {k: v for k, v in r.items() if k != "previousStatus"} for r in order.cancellation_requests
        ]
    return body


SELECTED_ADDRESS_FIELDS = {
    "addressId",
    "versionId",
    "entityId",
    "addressType",
    "receiverName",
    "street",
    "number",
    "complement",
    "neighborhood",
    "postalCode",
    "city",
    "state",
    "country",
    "reference",
    "geoCoordinates",
}


def order_list_row(order: Order) -> dict:
    customer = order.customer
    return {
        "orderId": order.order_id,
        "creationDate": iso(order.creation_date),
        "clientName": f"{customer['firstName']} {customer['lastName']}",
        "items": None,
        "totalValue": order.value,
        "paymentNames": "Visa",
        "status": order.status,
        "statusDescription": st.LABELS.get(order.status, ""),
        "marketPlaceOrderId": order.marketplace_order_id or None,
        "sequence": order.sequence,
        "salesChannel": order.sales_channel,
        "affiliateId": order.affiliate_id,
        "origin": order.origin,
        "workflowInErrorState": False,
        "workflowInRetry": False,
        "lastMessageUnread": None,
        "ShippingEstimatedDate": iso(order.creation_date + timedelta(days=3)),
        "ShippingEstimatedDateMax": None,
        "ShippingEstimatedDateMin": None,
        "orderIsComplete": True,
        "listId": None,
        "listType": None,
        "authorizedDate": iso(order.authorized_date),
        "callCenterOperatorName": None,
        "totalItems": sum(line["quantity"] for line in order.items),
        "currencyCode": order.currency_code,
    }


def _stats(values: list[int], *, integral: bool = False) -> dict:
    count = len(values)
    total = sum(values)
    mean = total / count if count else 0
    variance = sum((v - mean) ** 2 for v in values) / count if count else 0
    stats = {
        "Count": count,
        "Max": max(values, default=0),
        "Mean": round(mean) if integral else float(mean),
        "Min": min(values, default=0),
        "Missing": 0,
        "StdDev": round(math.sqrt(variance)) if integral else math.sqrt(variance),
        "Sum": total,
        "SumOfSquares": sum(v * v for v in values),
        "Facets": None,
    }
    return stats


def _stats_with_facets(rows: list[dict], field: str) -> dict:
    values = [r[field] for r in rows]
    by_origin = {
        origin: _stats([r[field] for r in rows if r["origin"] == origin], integral=field == "totalItems")
        for origin in ("Fulfillment", "Marketplace")
    }
    # The schema requires a BRL facet; the store's own currency is listed next to it.
    currencies = {"BRL"} | {r["currencyCode"] for r in rows}
    by_currency = {c: _stats([r[field] for r in rows if r["currencyCode"] == c]) for c in sorted(currencies)}
    return {**_stats(values), "Facets": {"origin": by_origin, "currencyCode": by_currency}}


def order_list_json(*, rows: list[dict], all_rows: list[dict], page: int, per_page: int) -> dict:
    total = len(all_rows)
    return {
        "list": rows,
        "facets": [],
        "paging": {"total": total, "pages": -(-total // per_page), "currentPage": page, "perPage": per_page},
        "stats": {
            "stats": {
                "totalValue": _stats_with_facets(all_rows, "totalValue"),
                "totalItems": _stats_with_facets(all_rows, "totalItems"),
            }
        },
    }
