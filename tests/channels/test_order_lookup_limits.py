"""Order lookup by number and contact: guessing is limited per order number and per address.

Order numbers are sequential and publishable keys are public, so the key's own rate
limit is no defence: failed lookups are counted per order number and per client
address in the shared cache (Redis in tests), and the answer beyond either limit is
429 `rate_limited` with `Retry-After`, whatever the key allows.
"""

from __future__ import annotations

import pytest

from backoffice.settings import ORDER_LOOKUP_WINDOW_SECONDS
from tests.channels.test_chatbot import LOOKUP, place
from tests.channels_api.test_auth_and_errors import assert_problem
from tests.conftest import Api
from tests.factories import make_key

pytestmark = pytest.mark.django_db

ATTACKER, NEIGHBOUR, PROXY = "203.0.113.7", "198.51.100.2", "10.0.0.1"


@pytest.fixture
def unlimited(channels) -> Api:
    """A chatbot key with no rate limit of its own (`rate_limit=0`)."""
    return Api(make_key(channels["chatbot"], rate_limit=0)[1])


@pytest.fixture
def window_end(one_rate_window) -> int:
    """Seconds left in the (frozen) clock's lookup window: what Retry-After must say."""
    import channels_api.throttling as throttling

    now = throttling.time.time()
    return int((now // ORDER_LOOKUP_WINDOW_SECONDS + 1) * ORDER_LOOKUP_WINDOW_SECONDS - now)


def lookup(api: Api, number: str, email: str, address: str = ATTACKER, **headers):
    return api.post(LOOKUP, {"number": number, "email": email}, REMOTE_ADDR=address, **headers)


def test_thirty_guesses_at_one_order_meet_429_with_retry_after_whatever_the_keys_limit(
    keys, unlimited, window_end
):
    # Given an order, and a key that may send as many requests as it likes
    order = place(keys)

    # When someone guesses its email thirty times in a row
    answers = [lookup(unlimited, order["number"], f"guess-{n}@example.com") for n in range(30)]

    # Then the first ten misses are answered, and every later guess is refused
    assert [a.status_code for a in answers] == [404] * 10 + [429] * 20
    for answer in answers[10:]:
        assert_problem(answer, 429, "rate_limited")
        assert answer["Retry-After"] == str(window_end)
    # And so is the right guess now: a refusal tells nothing about the email
    refused = lookup(unlimited, order["number"], "ada@example.com")
    assert_problem(refused, 429, "rate_limited")
    assert "token" not in refused.json()
    # And another order is still answered, to the same client
    other = place(keys, email="bob@example.com")
    found = lookup(unlimited, other["number"], "bob@example.com")
    assert (found.status_code, found.json()["token"]) == (200, other["token"])


def test_guesses_spread_over_many_orders_meet_the_per_address_limit(keys, unlimited, window_end):
    # Given orders with sequential numbers
    order = place(keys)
    first = int(order["number"])

    # When one client tries one guess at each of thirty-one numbers
    answers = [lookup(unlimited, str(first + n), "ada@example.com") for n in range(1, 32)]

    # Then the thirty-first is refused, though no number met its own limit
    assert [a.status_code for a in answers] == [404] * 30 + [429]
    assert answers[-1]["Retry-After"] == str(window_end)
    assert_problem(lookup(unlimited, order["number"], "ada@example.com"), 429, "rate_limited")
    # And a customer elsewhere still finds their order
    found = lookup(unlimited, order["number"], "ada@example.com", address=NEIGHBOUR)
    assert (found.status_code, found.json()["token"]) == (200, order["token"])


def test_a_customer_asking_after_their_own_order_is_never_limited(keys, unlimited, one_rate_window):
    order = place(keys)

    answers = [lookup(unlimited, f"#{order['number']}", "ADA@example.com") for _ in range(25)]

    assert {a.status_code for a in answers} == {200}
    # The right answers took nothing from the number's budget of misses
    misses = [lookup(unlimited, order["number"], f"guess-{n}@example.com") for n in range(11)]
    assert [m.status_code for m in misses] == [404] * 10 + [429]


def test_a_replay_counts_like_the_lookup_it_repeats_and_never_gets_past_the_limit(
    keys, unlimited, one_rate_window
):
    # Given a customer's lookup and a wrong guess, each sent with an Idempotency-Key
    order = place(keys)
    number = order["number"]
    right = lookup(unlimited, number, "ada@example.com", HTTP_IDEMPOTENCY_KEY="look-1")
    assert right.status_code == 200

    # When the wrong guess is replayed until the number's budget of misses is spent
    replays = [
        lookup(unlimited, number, "eve@example.com", HTTP_IDEMPOTENCY_KEY="guess")
        for _ in range(10)
    ]

    # Then each replay counted as the miss it repeats
    assert [r.status_code for r in replays] == [404] * 10
    assert [r.headers.get("Idempotent-Replayed") for r in replays] == [None] + ["true"] * 9
    # And once the number is locked, no replay gets an answer past the limit, not even
    # the stored one of the right lookup
    for key, email in (("guess", "eve@example.com"), ("look-1", "ada@example.com")):
        replay = lookup(unlimited, number, email, HTTP_IDEMPOTENCY_KEY=key)
        assert_problem(replay, 429, "rate_limited")
        assert "Idempotent-Replayed" not in replay.headers


def test_a_client_cannot_pick_its_address_with_x_forwarded_for_unless_a_proxy_is_trusted(
    keys, unlimited, one_rate_window
):
    order = place(keys)
    first = int(order["number"])

    # When one client sends thirty misses, each claiming another address
    for n in range(1, 31):
        miss = lookup(
            unlimited, str(first + n), "x@example.com", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}"
        )
        assert miss.status_code == 404

    # Then the header was ignored: its own address is spent
    refused = lookup(
        unlimited, order["number"], "ada@example.com", HTTP_X_FORWARDED_FOR="192.0.2.99"
    )
    assert_problem(refused, 429, "rate_limited")


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(
    keys, unlimited, one_rate_window, settings
):
    # Given the app behind one proxy that appends the client's address to X-Forwarded-For
    settings.TRUSTED_PROXY_COUNT = 1
    order = place(keys)
    first = int(order["number"])

    # When one client behind it spends its misses, writing a false address of its own first
    for n in range(1, 31):
        miss = lookup(
            unlimited,
            str(first + n),
            "x@example.com",
            address=PROXY,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {ATTACKER}",
        )
        assert miss.status_code == 404

    # Then that client is refused, whatever it writes, and another client of the proxy is not
    refused = lookup(
        unlimited, order["number"], "ada@example.com", address=PROXY, HTTP_X_FORWARDED_FOR=ATTACKER
    )
    assert_problem(refused, 429, "rate_limited")
    found = lookup(
        unlimited, order["number"], "ada@example.com", address=PROXY, HTTP_X_FORWARDED_FOR=NEIGHBOUR
    )
    assert found.status_code == 200


def test_the_limits_come_from_the_settings_and_zero_turns_one_off(
    keys, unlimited, one_rate_window, settings
):
    settings.ORDER_LOOKUP_FAILURES_PER_NUMBER = 3
    settings.ORDER_LOOKUP_FAILURES_PER_ADDRESS = 0
    order = place(keys)

    misses = [lookup(unlimited, order["number"], f"g{n}@example.com") for n in range(4)]
    assert [m.status_code for m in misses] == [404] * 3 + [429]
    first = int(order["number"])
    spread = [lookup(unlimited, str(first + n), "x@example.com") for n in range(1, 41)]
    assert {s.status_code for s in spread} == {404}  # no per-address limit
