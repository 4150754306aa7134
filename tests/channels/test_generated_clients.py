"""Clients generated from the served schema, the way storefront and chatbot developers make them.

openapi-python-client and openapi-typescript (npm, pinned in scripts/typescript-client) read
the schema the live server serves; the chatbot example's conversation runs through the
generated Python client. Generated code goes to a temporary folder only.
"""

from __future__ import annotations

import importlib.util
import inspect
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from channels_api.models import ApiKey
from orders.models import Order
from tests.channels.test_chatbot import assert_two_tees_ordered_and_found
from tests.factories import SHIPPING_ADDRESS, make_key

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
TYPESCRIPT_TOOLS = ROOT / "var" / "typescript-client" / "node_modules" / ".bin"
EXAMPLE = ROOT / "examples" / "chatbot_generated_client.py"

TYPES_IN_USE = """
import type { components, paths } from "./backoffice-api";

type Checkout = paths["/api/v1/store/checkout"]["post"];
const headers: NonNullable<Checkout["parameters"]["header"]> = { "Idempotency-Key": "chat-42" };
type SoldOut = Checkout["responses"][409]["content"]["application/problem+json"];
const soldOut: SoldOut = {
  type: "https://backoffice.dev/problems/insufficient_stock",
  title: "Conflict",
  status: 409,
  detail: "Not enough stock for TEE.",
  code: "insufficient_stock",
  lines: [{ sku: "TEE", requested: 11, available: 10 }],
};
const problem: components["schemas"]["Problem"] = soldOut;
const replayed: Checkout["responses"][201]["headers"]["Idempotent-Replayed"] = "true";
const wait: Checkout["responses"][429]["headers"]["Retry-After"] = 30;
export const used = [headers, problem, replayed, wait];
"""
# The same types refuse what the API refuses: a key that is no string, a problem without a code.
TYPES_MISUSED = """
import type { components, paths } from "./backoffice-api";

type Checkout = paths["/api/v1/store/checkout"]["post"];
export const headers: NonNullable<Checkout["parameters"]["header"]> = { "Idempotency-Key": 42 };
export const problem: components["schemas"]["Problem"] = {
  type: "https://backoffice.dev/problems/x", title: "Conflict", status: 409, detail: "x",
};
"""


@pytest.fixture(scope="module")
def schema_file(live_server, tmp_path_factory) -> Path:
    """The schema as a developer downloads it from a running server."""
    url = f"{live_server.url}/api/v1/schema/?format=json"
    with urllib.request.urlopen(url, timeout=60) as answer:
        body = answer.read()
    path = tmp_path_factory.mktemp("schema") / "backoffice-api.json"
    path.write_bytes(body)
    return path


@pytest.fixture(scope="module")
def generated_client(schema_file, tmp_path_factory):
    """`openapi-python-client generate` into a temporary folder, importable while tests run."""
    folder = tmp_path_factory.mktemp("python-client")
    config = folder / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run on the generated code
    command = [str(GENERATOR), "generate", "--path", str(schema_file), "--meta", "none"]
    command += ["--output-path", str(folder / "backoffice_client"), "--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("chatbot_generated_client", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    yield example
    sys.path.remove(str(folder))
    for name in [name for name in sys.modules if name.startswith("backoffice_client")]:
        del sys.modules[name]


@pytest.fixture
def chatbot_key(channels, catalog) -> str:
    return make_key(channels["chatbot"], kind=ApiKey.Kind.PUBLISHABLE)[1]


@pytest.mark.django_db(transaction=True)
def test_the_chatbot_conversation_runs_through_the_generated_python_client(
    live_server, generated_client, chatbot_key, capsys
):
    # When the example conversation talks to the running app through the generated client
    arguments = ["--base-url", live_server.url, "--key", chatbot_key]
    exit_code = generated_client.main(
        [*arguments, "--search", "classic tee", "--quantity", "2"],
        client_class=generated_client.GeneratedStoreClient,
    )

    # Then it ends as with the hand-written client: a paid order, found again by the lookup
    assert_two_tees_ordered_and_found(exit_code, capsys.readouterr().out.splitlines())


@pytest.mark.django_db(transaction=True)
def test_the_generated_checkout_takes_the_idempotency_key_as_a_typed_parameter(
    live_server, generated_client, chatbot_key
):
    from backoffice_client import AuthenticatedClient
    from backoffice_client.api.store_checkout import store_checkout
    from backoffice_client.models import CheckoutRequestRequest, StoreOrderOutput
    from backoffice_client.types import Unset

    # Given the generated checkout function
    parameter = inspect.signature(store_checkout.sync_detailed).parameters["idempotency_key"]
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.annotation in (str | Unset, "str | Unset")
    client = AuthenticatedClient(base_url=live_server.url, token=chatbot_key)
    body = CheckoutRequestRequest.from_dict(
        {"lines": [{"sku": "MUG", "quantity": 1}], "shipping_address": SHIPPING_ADDRESS}
    )

    # When the same checkout is sent twice with one key (a retry after a lost answer)
    first = store_checkout.sync_detailed(client=client, body=body, idempotency_key="chat-42")
    again = store_checkout.sync_detailed(client=client, body=body, idempotency_key="chat-42")

    # Then one order exists, and the retry got the stored answer, marked as a replay
    assert (first.status_code, again.status_code) == (201, 201)
    assert isinstance(again.parsed, StoreOrderOutput)
    assert again.parsed.number == first.parsed.number
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_error_answers_arrive_parsed_into_the_generated_problem_model(
    live_server, generated_client, chatbot_key
):
    from backoffice_client import AuthenticatedClient
    from backoffice_client.api.store_checkout import store_checkout, store_orders_lookup
    from backoffice_client.models import CheckoutRequestRequest, OrderLookupInputRequest, Problem

    client = AuthenticatedClient(base_url=live_server.url, token=chatbot_key)

    def checkout(lines: list[dict], key: str | None = None):
        body = CheckoutRequestRequest.from_dict({"lines": lines})
        if key is None:
            return store_checkout.sync_detailed(client=client, body=body)
        return store_checkout.sync_detailed(client=client, body=body, idempotency_key=key)

    sold_out = checkout([{"sku": "TEE", "quantity": 11}], key="chat-7")
    reused = checkout([{"sku": "TEE", "quantity": 1}], key="chat-7")
    unknown = checkout([{"sku": "NOPE", "quantity": 1}])
    missing = store_orders_lookup.sync_detailed(
        client=client, body=OrderLookupInputRequest(number="999999", email="ada@example.com")
    )
    stranger = store_checkout.sync_detailed(
        client=AuthenticatedClient(base_url=live_server.url, token="pk_not_a_key"),
        body=CheckoutRequestRequest.from_dict({"lines": [{"sku": "TEE", "quantity": 1}]}),
    )

    answers = [sold_out, reused, unknown, missing, stranger]
    assert all(isinstance(answer.parsed, Problem) for answer in answers)
    assert [(a.status_code, a.parsed.status, a.parsed.code) for a in answers] == [
        (409, 409, "insufficient_stock"),
        (422, 422, "idempotency_key_reused"),
        (400, 400, "invalid"),
        (404, 404, "not_found"),
        (401, 401, "not_authenticated"),
    ]
    assert [(line.sku, line.requested, line.available) for line in sold_out.parsed.lines] == [
        ("TEE", 11, 10)
    ]
    assert list(unknown.parsed.errors.additional_properties) == ["lines"]
    assert Order.objects.count() == 0


def _typescript_tool(name: str) -> Path:
    if not (TYPESCRIPT_TOOLS / name).exists():  # `make test` installs them; a bare pytest too
        subprocess.run([str(ROOT / "scripts" / "install-typescript-tools.sh")], check=True)
    return TYPESCRIPT_TOOLS / name


def _compile(source: str, folder: Path) -> subprocess.CompletedProcess:
    program = folder / "program.ts"
    program.write_text(source)
    command = [str(_typescript_tool("tsc")), "--noEmit", "--strict", "--target", "es2020"]
    return subprocess.run(
        [*command, str(program)], capture_output=True, text=True, timeout=300, check=False
    )


def test_openapi_typescript_types_carry_the_idempotency_key_and_problems(schema_file, tmp_path):
    # Given TypeScript types generated from the served schema
    output = tmp_path / "backoffice-api.d.ts"
    generated = subprocess.run(
        [str(_typescript_tool("openapi-typescript")), str(schema_file), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr

    # Then code that sends the key and reads a problem compiles, and misuse does not
    used = _compile(TYPES_IN_USE, tmp_path)
    assert used.returncode == 0, used.stdout + used.stderr
    misused = _compile(TYPES_MISUSED, tmp_path)
    assert misused.returncode != 0
    assert "Type 'number' is not assignable to type 'string'" in misused.stdout
    assert "Property 'code' is missing" in misused.stdout
