"""The example chatbot's conversation through a client generated from the OpenAPI schema.

Generate the Python client first (docs/api.md, "Generate a client"): it is the package
`backoffice_client`, importable from the folder you generated it in. Then:

    PYTHONPATH=path/to/that/folder python examples/chatbot_generated_client.py --key pk_...

The same conversation as `chatbot_client.py`; each call is a typed function of the generated
client, the `Idempotency-Key` is one of its parameters, and an error answer arrives parsed as
the generated `Problem` model.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

from backoffice_client import AuthenticatedClient
from backoffice_client.api.store import store_products_list
from backoffice_client.api.store_checkout import store_checkout, store_orders_lookup
from backoffice_client.models import CheckoutRequestRequest, OrderLookupInputRequest, Problem
from backoffice_client.types import Response

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chatbot_client import ApiError, main


class GeneratedStoreClient:
    """The conversation's three calls, made with the generated client."""

    def __init__(self, base_url: str, key: str) -> None:
        self.client = AuthenticatedClient(base_url=base_url.rstrip("/"), token=key)

    def search(self, text: str) -> list[dict]:
        page = answer(store_products_list.sync_detailed(client=self.client, search=text, limit=5))
        return [product.to_dict() for product in page.results]

    def checkout(self, **order: Any) -> dict:
        response = store_checkout.sync_detailed(
            client=self.client,
            body=CheckoutRequestRequest.from_dict(order),
            # A retried POST (a timeout, a lost answer) must not order twice.
            idempotency_key=str(uuid.uuid4()),
        )
        return answer(response).to_dict()

    def lookup(self, number: str, email: str = "", phone: str = "") -> dict | None:
        response = store_orders_lookup.sync_detailed(
            client=self.client,
            body=OrderLookupInputRequest(number=number, email=email, phone=phone),
            idempotency_key=str(uuid.uuid4()),
        )
        if isinstance(response.parsed, Problem) and response.parsed.code == "not_found":
            return None
        return answer(response).to_dict()


class GeneratedApiError(ApiError):
    """An error answer; `parsed` is the generated `Problem` model it was read into."""

    def __init__(self, status: int, parsed: Problem) -> None:
        super().__init__(status, parsed.to_dict())
        self.parsed = parsed


def answer(response: Response) -> Any:
    """The parsed answer, or GeneratedApiError for a problem+json one."""
    if isinstance(response.parsed, Problem):
        raise GeneratedApiError(response.status_code, response.parsed)
    if response.parsed is None:  # a status the schema does not list
        raise ApiError(response.status_code, {"code": None, "detail": response.content.decode()})
    return response.parsed


if __name__ == "__main__":
    sys.exit(main(client_class=GeneratedStoreClient))
