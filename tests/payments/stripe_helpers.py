"""Talking to localstripe as the customer's browser and as Stripe's webhook sender would.

`make test` starts localstripe on loopback and exports STRIPE_API_BASE. The customer's
part (Stripe.js confirming a PaymentIntent with a card) is done here through the official
library, in the flow localstripe implements: a PaymentMethod created with the card, set
on the intent, then the intent confirmed. Where localstripe sends no webhook, `signed_event`
builds the event Stripe would send for the object read back from localstripe and signs it
with the endpoint secret exactly as Stripe does (`t=<unix>,v1=<HMAC-SHA256 of "t.body">`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.request import Request, urlopen

import pytest
import stripe

API_KEY = "sk_test_backoffice_suite"
WEBHOOK_SECRET = "whsec_backoffice_suite"
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000341"  # attaches, then the charge is declined


def localstripe_base() -> str:
    base = os.environ.get("STRIPE_API_BASE", "")
    assert base, "STRIPE_API_BASE is unset: run the suite with `make test` (it starts localstripe)"
    return base


def stripe_client(base: str | None = None) -> stripe.StripeClient:
    return stripe.StripeClient(
        API_KEY, base_addresses={"api": base or localstripe_base()}, max_network_retries=0
    )


def intent(intent_id: str) -> dict:
    """The PaymentIntent as localstripe holds it now."""
    return stripe_client().v1.payment_intents.retrieve(intent_id).to_dict()


def customer_pays(intent_id: str, card: str = CARD_OK) -> dict:
    """What Stripe.js does for the customer: a card PaymentMethod, then confirm."""
    client = stripe_client()
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
    return client.v1.payment_intents.confirm(intent_id).to_dict()


def customer_is_declined(intent_id: str) -> None:
    """The customer confirms with a card the bank declines (Stripe.js gets a card error)."""
    with pytest.raises(stripe.CardError):
        customer_pays(intent_id, card=CARD_DECLINED)


def refunds_of(intent_id: str) -> list[dict]:
    return [
        refund.to_dict()
        for refund in stripe_client().v1.refunds.list(params={"payment_intent": intent_id}).data
    ]


def signed_event(
    event_type: str, obj: dict, *, secret: str = WEBHOOK_SECRET, event_id: str | None = None
) -> tuple[bytes, str]:
    """A Stripe event for `obj`, and its `Stripe-Signature` header."""
    body = json.dumps(
        {
            "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "api_version": stripe.api_version,
            "created": int(time.time()),
            "livemode": False,
            "type": event_type,
            "data": {"object": obj},
        }
    ).encode()
    return body, sign(body, secret=secret)


def sign(body: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe sends with `body`: `t=<unix>,v1=<hex HMAC-SHA256
    of "<t>.<body>" keyed with the endpoint secret>`."""
    at = int(time.time()) if at is None else at
    signature = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={signature}"


def post_webhook(url: str, body: bytes, signature: str) -> tuple[int, dict]:
    """POST a webhook over real HTTP, as Stripe does."""
    request = Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json; charset=utf-8")
    request.add_header("Stripe-Signature", signature)
    try:
        with urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except Exception as error:  # HTTPError carries the answer
        return error.code, json.loads(error.read())


class Stalling(str):
    """The stalling server's URL, with an event set once a client has connected."""

    connected: threading.Event


@contextmanager
def stalling_server() -> Iterator[Stalling]:
    """A real TCP server on loopback that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
                held.append(connection)
                url.connected.set()
            except OSError:
                continue

    url = Stalling(f"http://127.0.0.1:{listener.getsockname()[1]}")
    url.connected = threading.Event()
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()


@contextmanager
def answer_dropping_proxy(drop_path: str, times: int = 1) -> Iterator[dict]:
    """A real HTTP proxy in front of localstripe that passes every request on, but for the
    first `times` POSTs to `drop_path` closes the connection instead of giving the answer
    back: the request reached Stripe, the answer was lost (a network error)."""
    upstream = localstripe_base()
    state = {"dropped": 0, "forwarded": []}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            return None

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            request = Request(upstream + self.path, data=body, method=self.command)
            for name in ("Authorization", "Content-Type", "Idempotency-Key", "Stripe-Version"):
                if self.headers.get(name):
                    request.add_header(name, self.headers[name])
            try:
                with urlopen(request, timeout=30) as response:
                    status, payload = response.status, response.read()
            except Exception as error:
                status, payload = error.code, error.read()
            state["forwarded"].append((self.command, self.path))
            if self.command == "POST" and self.path == drop_path and state["dropped"] < times:
                state["dropped"] += 1
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
