"""The buy flow through a client generated from openapi/openapi.json by
openapi-python-client, used as generated (no hand fix): register, log in,
search, quote, order with an Idempotency-Key (charged as quoted), pay in the sandbox, read the paid
order. Run by tests/contract/run against a live server with demo data.

usage: client_flow.py BASE_URL   (the generated package on PYTHONPATH)
"""

import sys
import uuid

from coopmart_client import AuthenticatedClient, Client
from coopmart_client.api.catalog import search_listings
from coopmart_client.api.identity import me, register, token
from coopmart_client.api.orders import create_order, create_payment, get_order, quote_order
from coopmart_client.api.sandbox import sandbox_succeed
from coopmart_client.models import (
    AddressBody,
    CreateOrderRequest,
    DeliveryBody,
    DeliveryBodyMethod,
    OrderLineBody,
    RegisterRequest,
    TokenRequest,
    TokenRequestGrantType,
)


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def main(base):
    public = Client(base_url=base, raise_on_unexpected_status=True)
    email = f"client-{uuid.uuid4().hex[:12]}@example.com"
    password = "Generated-Client-2026"

    r = register.sync_detailed(
        client=public,
        body=RegisterRequest(email=email, password=password, display_name="生成客户端"),
    )
    check(r.status_code == 201, f"register {email} → 201 ({r.status_code})")

    r = token.sync_detailed(
        client=public,
        body=TokenRequest(grant_type=TokenRequestGrantType.PASSWORD, username=email, password=password),
    )
    check(r.status_code == 200 and r.parsed.access_token, "token (password grant) → 200")
    client = AuthenticatedClient(base_url=base, token=r.parsed.access_token,
                                 raise_on_unexpected_status=True)

    r = me.sync_detailed(client=client)
    check(r.status_code == 200 and r.parsed.email == email, "me → the new account")

    r = search_listings.sync_detailed(client=public, q="甜瓜", limit=5)
    check(r.status_code == 200 and len(r.parsed.items) > 0, "search 甜瓜 → listings")
    listing = next(i for i in r.parsed.items if i.status == "active" and i.stock >= 2)

    body = CreateOrderRequest(
        items=[OrderLineBody(listing_id=listing.id, quantity=2)],
        delivery=DeliveryBody(
            method=DeliveryBodyMethod.HOME_DELIVERY,
            address=AddressBody(recipient="王芳", phone="13800000000",
                                region_code="110105", line="建国路1号"),
        ),
    )
    r = quote_order.sync_detailed(client=client, body=body)
    check(r.status_code == 200, f"quote → 200 ({r.status_code})")
    quote = r.parsed
    check(quote.total_fen == quote.items_fen + quote.freight_fen
          and quote.items_fen == 2 * quote.seller_orders[0].items[0].unit_price_fen,
          f"quote = items {quote.items_fen} + freight {quote.freight_fen}")

    key = f"client-flow-{uuid.uuid4()}"
    r = create_order.sync_detailed(client=client, body=body, idempotency_key=key)
    check(r.status_code == 201, f"order → 201 ({r.status_code})")
    order = r.parsed
    check(order.status == "pending_payment", "order is pending_payment")
    line = order.items[0]
    check(line.quantity == 2 and line.line_total_fen == 2 * line.unit_price_fen
          and order.items_fen == line.line_total_fen, "items = 2 × unit price")
    check(order.total_fen == quote.total_fen and order.freight_fen == quote.freight_fen
          and order.seller_orders[0].freight_fen == quote.seller_orders[0].freight_fen,
          f"the order charges what the quote said ({order.total_fen})")

    r = create_order.sync_detailed(client=client, body=body, idempotency_key=key)
    check(r.status_code == 201 and r.parsed.id == order.id
          and r.headers.get("idempotent-replayed") == "true",
          "same Idempotency-Key → the same order, replayed")

    r = create_payment.sync_detailed(client=client, id=order.id)
    check(r.status_code == 201, f"payment → 201 ({r.status_code})")
    payment = r.parsed

    r = sandbox_succeed.sync_detailed(client=public, payment_id=payment.id)
    check(r.status_code == 200 and r.parsed.notify_status == 200,
          "sandbox notifies the API, signed → 200")

    r = get_order.sync_detailed(client=client, id=order.id)
    check(r.status_code == 200 and r.parsed.status == "paid", f"order is paid ({r.parsed.status})")
    print("client flow: all steps passed")


if __name__ == "__main__":
    main(sys.argv[1])
