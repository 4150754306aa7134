"""An example chatbot that sells through the Backoffice store API, one request per step.

Standard library only. Run it against a server with a chatbot channel's publishable key:

    python3 examples/chatbot_client.py --base-url http://127.0.0.1:8000 --key pk_...

The conversation: the shopper asks for a product by free text, the bot searches the
catalog, the shopper buys it in one message (one-shot checkout), and later asks where
the order is (lookup by order number plus email, no token needed).

`converse` talks through any client with the three calls of `StoreClient`;
`examples/chatbot_generated_client.py` plays it through a client generated from the
OpenAPI schema instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any, Protocol


class ApiError(Exception):
    """A problem+json answer: `status`, `code` and the whole `problem` document."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('code')}: {problem.get('detail')}")
        self.status = status
        self.code = problem.get("code")
        self.problem = problem


class Store(Protocol):
    """The three calls the conversation makes; answers are the API's JSON as dicts."""

    def search(self, text: str) -> list[dict]: ...

    def checkout(self, **order: Any) -> dict: ...

    def lookup(self, number: str, email: str = "", phone: str = "") -> dict | None: ...


class StoreClient:
    """The few store calls a chatbot needs, with a publishable key."""

    def __init__(self, base_url: str, key: str) -> None:
        self.base = base_url.rstrip("/") + "/api/v1/store"
        self.key = key

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self.key}")
        request.add_header("Accept", "application/json")
        if body is not None:
            request.add_header("Content-Type", "application/json")
            # A retried POST (a timeout, a lost answer) must not order twice.
            request.add_header("Idempotency-Key", str(uuid.uuid4()))
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise ApiError(error.code, json.loads(error.read() or b"{}")) from error

    def search(self, text: str) -> list[dict]:
        query = urllib.parse.urlencode({"search": text, "limit": 5})
        return self.request("GET", f"/products?{query}")["results"]

    def checkout(self, **order: Any) -> dict:
        return self.request("POST", "/checkout", order)

    def lookup(self, number: str, email: str = "", phone: str = "") -> dict | None:
        try:
            return self.request(
                "POST", "/orders/lookup", {"number": number, "email": email, "phone": phone}
            )
        except ApiError as error:
            if error.status == 404:
                return None
            raise


def converse(
    client: Store,
    *,
    search: str = "tee",
    quantity: int = 1,
    email: str = "ada@example.com",
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Play the example conversation; returns the placed order and the lookup's answer."""

    say(f"Shopper: Hi! Do you have a {search}?")
    products = client.search(search)
    offer = next(
        (
            (product, variant)
            for product in products
            for variant in product["variants"]
            if variant["available"] >= quantity
        ),
        None,
    )
    if offer is None:
        say(f"Bot: Sorry, no {search} in stock right now.")
        return {"order": None, "lookup": None}
    product, variant = offer
    price = variant["price"]
    say(f"Bot: Yes: {product['name']} ({variant['sku']}) at {price['amount']} {price['currency']}.")

    say(f"Shopper: Great, {quantity} please, to 1 Rue de Rivoli, 75001 Paris. I'm {email}.")
    try:
        order = client.checkout(
            lines=[{"sku": variant["sku"], "quantity": quantity}],
            email=email,
            shipping_address={
                "name": "Ada Lovelace",
                "line1": "1 Rue de Rivoli",
                "city": "Paris",
                "postal_code": "75001",
                "country": "FR",
            },
            payment={"provider": "test", "token": "tok_approve"},
        )
    except ApiError as error:
        if error.code == "insufficient_stock":
            say("Bot: Someone was quicker, that just sold out. Anything else?")
            return {"order": None, "lookup": None}
        raise
    total = order["total"]
    say(f"Bot: Done! Order #{order['number']}, {total['amount']} {total['currency']}, paid.")

    say(f"Shopper: Where is my order {order['number']}?")
    found = client.lookup(order["number"], email=email.upper())
    if found is None:
        say("Bot: I could not find that order with this email.")
    else:
        steps = ", ".join(step["type"] for step in found["timeline"])
        say(f"Bot: Order #{found['number']} is {found['status']} ({steps}).")
    return {"order": order, "lookup": found}


def main(argv: list[str] | None = None, client_class: type = StoreClient) -> int:
    """Parse the command line and play the conversation with `client_class(base_url, key)`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="a publishable key (pk_...)")
    parser.add_argument("--search", default="tee")
    parser.add_argument("--quantity", type=int, default=1)
    parser.add_argument("--email", default="ada@example.com")
    args = parser.parse_args(argv)
    try:
        result = converse(
            client_class(args.base_url, args.key),
            search=args.search,
            quantity=args.quantity,
            email=args.email,
        )
    except ApiError as error:
        print(f"API error: {error}", file=sys.stderr)
        return 1
    return 0 if result["order"] and result["lookup"] else 1


if __name__ == "__main__":
    sys.exit(main())
