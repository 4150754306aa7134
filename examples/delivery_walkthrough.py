"""One order from checkout to the door: the customer's, the courier's and staff's requests.

Standard library only. Run it against `make run` with the web channel's publishable key and
the admin secret key (both in var/demo-keys.txt):

    python3 examples/delivery_walkthrough.py --pk pk_... --sk sk_...

What it does (docs/delivery.md tells the same story with curl): staff add a courier, who
says they are available; the storefront asks which delivery options an address has and
checks out with the on-demand method; the customer opens the order's live stream; the
courier accepts the offer, picks up at the store and drives, posting positions that the
customer's stream shows at once; at the door a wrong PIN is refused and the customer's PIN
completes the delivery.
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

# The demo store is downtown Springfield; the customer lives about 1.5 km north.
CUSTOMER = {"latitude": 39.7952, "longitude": -89.6501}
ROUTE = [39.7840, 39.7880, 39.7920, 39.7950]
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 North Street",
    "city": "Springfield",
    "postal_code": "62702",
    "country": "US",
    "phone": "+1 217 555 0142",
    **CUSTOMER,
}


class Api:
    """JSON over HTTP with one credential; prints each request and its answer's status."""

    def __init__(self, base_url: str, key: str, who: str) -> None:
        self.base, self.key, self.who = base_url.rstrip("/"), key, who

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self.key}")
        request.add_header("Content-Type", "application/json")
        if method == "POST":
            request.add_header("Idempotency-Key", str(uuid.uuid4()))
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        answer = json.loads(raw) if raw else None
        print(f"[{self.who}] {method} {path} -> {status}")
        if status != expect:
            raise SystemExit(f"expected {expect}, got {status}: {answer}")
        return answer


class Stream:
    """The customer's EventSource: reads the order's server-sent events on a thread."""

    def __init__(self, base_url: str, path: str, key: str) -> None:
        url = urllib.parse.urlsplit(base_url)
        self.connection = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=60)
        self.connection.request(
            "GET", path, headers={"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
        )
        response = self.connection.getresponse()
        if response.status != 200:
            raise SystemExit(f"the stream answered {response.status}: {response.read()!r}")
        self.events: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(response,), daemon=True).start()

    def _read(self, response) -> None:
        event: dict[str, str] = {}
        try:
            for raw in response:
                line = raw.decode().rstrip("\n")
                if line and not line.startswith(":"):
                    name, _, value = line.partition(": ")
                    event[name] = value
                elif not line and "data" in event:
                    self.events.put((event.get("event", "message"), json.loads(event["data"])))
                    event = {}
        except (OSError, ValueError, AttributeError):
            return

    def wait_for(self, kind: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"no `{kind}` event on the stream within {timeout} s")
            got, data = self.events.get(timeout=left)
            print(f"[customer stream] {got}: {json.dumps(data)[:110]}")
            if got == kind:
                return data

    def close(self) -> None:
        self.connection.close()


def walk(base_url: str, pk: str, sk: str) -> dict:
    staff, store = Api(base_url, sk, "staff"), Api(base_url, pk, "storefront")

    # Staff add a courier; the token is shown once, the courier app signs in with it.
    sam = staff.call("POST", "/api/v1/admin/couriers", {"name": "Sam", "warehouses": ["store"]},
                     expect=201)  # fmt: skip
    courier = Api(base_url, sam["token"], "courier")
    courier.call("POST", "/api/v1/fulfiller/courier/availability", {"available": True})

    # The storefront asks what it can offer at the customer's address.
    query = urllib.parse.urlencode({**CUSTOMER, "subtotal": "39.98"})
    options = store.call("GET", f"/api/v1/store/delivery-options?{query}")["results"]
    option = options[0]
    print(f"  {option['name']}: {option['fee']['amount']} {option['fee']['currency']}, "
          f"arriving {option['asap']['earliest']} to {option['asap']['latest']}")  # fmt: skip

    # The customer checks out with it.
    order = store.call(
        "POST",
        "/api/v1/store/checkout",
        {
            "lines": [{"sku": "CT00-M-BLA", "quantity": 2}],
            "email": "ada@example.com",
            "shipping_address": ADDRESS,
            "shipping_method": option["shipping_method"],
            "payment": {"provider": "test", "token": "tok_approve"},
        },
        expect=201,
    )
    delivery = order["delivery"]
    print(f"  order {order['number']}: {delivery['status']}, PIN {delivery['pin']}")

    stream = Stream(base_url, delivery["stream"], pk)
    stream.wait_for("snapshot")

    # The courier's app shows the offer; the courier accepts it.
    offers = courier.call("GET", "/api/v1/fulfiller/courier")["offers"]
    taken = courier.call("POST", f"/api/v1/fulfiller/offers/{offers[0]['id']}/accept")
    print(f"  drop-off: {taken['dropoff']['address']['line1']}, "
          f"phone {taken['dropoff']['address']['phone']}")  # fmt: skip
    assigned = stream.wait_for("delivery")
    print(f"  the customer sees {assigned['courier']['name']} coming")

    base = f"/api/v1/fulfiller/deliveries/{taken['id']}"
    courier.call("POST", f"{base}/pickup")
    stream.wait_for("delivery")
    for latitude in ROUTE:
        courier.call("POST", f"{base}/location", {"latitude": latitude, "longitude": -89.6501},
                     expect=202)  # fmt: skip
        stream.wait_for("location")

    # At the door: the customer reads the PIN in the order's thread.
    thread = store.call("GET", f"/api/v1/store/orders/{order['token']}/messages")["results"]
    pin_message = next(message for message in thread if message["kind"] == "pin")
    print(f"  thread: {pin_message['body']}")
    wrong = f"{(int(delivery['pin']) + 1) % 10000:04d}"
    refused = courier.call("POST", f"{base}/complete", {"pin": wrong}, expect=422)
    print(f"  wrong PIN: {refused['code']}, {refused['attempts_left']} attempts left")
    courier.call("POST", f"{base}/complete", {"pin": delivery["pin"]})
    done = stream.wait_for("delivery")
    stream.close()

    final = store.call("GET", f"/api/v1/store/orders/{order['token']}")
    print(f"  order {final['number']}: {final['status']}, delivered by proof '{done['proof']}'")
    return final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--pk", required=True, help="the web channel's publishable key")
    parser.add_argument("--sk", required=True, help="a secret key")
    args = parser.parse_args(argv)
    final = walk(args.base_url, args.pk, args.sk)
    return 0 if final["status"] == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
