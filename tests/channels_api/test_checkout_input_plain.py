"""The one-shot checkout's body read without the serializer (`checkout_input_plain`): it takes
the plain bodies clients send, and whatever it takes, `CheckoutRequest` takes the same way;
everything else it leaves to `CheckoutRequest` (None)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_api.store.checkout_serializers import CheckoutRequest, checkout_input_plain
from orders.services import CartLineInput

ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "postal_code": "12345"}
PAYMENT = {"provider": "test", "token": "tok_approve"}


def serializer_input(body: object):
    payload = CheckoutRequest(data=body)
    return payload.to_checkout_input() if payload.is_valid() else None


def test_a_plain_body_is_read_as_the_serializer_reads_it():
    body = {
        "lines": [{"sku": " TEE ", "quantity": 2}, {"sku": "MUG", "quantity": 1}],
        "email": " ada@example.com ",
        "phone": "",
        "shipping_address": ADDRESS,
        "shipping_method": "standard",
        "voucher_code": "  ",
        "payment": {**PAYMENT, "capture": "manual"},
        "delivery_slot": None,
    }
    plain = checkout_input_plain(body)

    assert plain is not None
    assert plain == serializer_input(body)
    assert plain.lines == [CartLineInput(sku="TEE", quantity=2), CartLineInput("MUG", 1)]
    assert (plain.email, plain.voucher_code) == ("ada@example.com", "")
    assert checkout_input_plain({"lines": [{"sku": "TEE", "quantity": 1}]}) == serializer_input(
        {"lines": [{"sku": "TEE", "quantity": 1}]}
    )


def test_anything_unusual_is_left_to_the_serializer():
    line = {"sku": "TEE", "quantity": 1}
    for body in [
        None,
        [],
        {},
        {"lines": []},
        {"lines": [{"sku": "TEE", "quantity": "1"}]},  # valid, but not plain
        {"lines": [{"sku": "TEE", "quantity": True}]},
        {"lines": [{"sku": "TEE", "quantity": 0}]},
        {"lines": [{"sku": "", "quantity": 1}]},
        {"lines": [{"sku": "T\x00", "quantity": 1}]},
        {"lines": [{"sku": "TÉE", "quantity": 1}]},
        {"lines": [{**line, "price": "0.01"}]},
        {"lines": [line], "total": "0.01"},
        {"lines": [line], "email": "not an email"},
        {"lines": [line], "email": None},
        {"lines": [line], "shipping_address": "1 Main St"},
        {"lines": [line], "shipping_method": ""},
        {"lines": [line], "payment": {}},
        {"lines": [line], "payment": {"provider": "paypal"}},
        {"lines": [line], "payment": {**PAYMENT, "token": ""}},
        {"lines": [line], "delivery_slot": "x" * 21},
    ]:
        assert checkout_input_plain(body) is None, body


VALID = {
    "lines": [{"sku": "TEE", "quantity": 1}],
    "email": "ada@example.com",
    "shipping_address": ADDRESS,
    "shipping_method": "standard",
    "payment": PAYMENT,
}
texts = st.one_of(
    st.sampled_from(["", " ", "TEE", " TEE ", "standard", "a@b.co", "x" * 21, "x" * 70]),
    st.text(max_size=8),
    st.none(),
    st.integers(-1, 2),
)
odd = st.one_of(texts, st.booleans(), st.lists(st.integers(0, 2), max_size=2), st.just({}))
line = st.one_of(
    st.fixed_dictionaries(
        {"sku": texts, "quantity": st.one_of(st.integers(-1, 1001), st.sampled_from(["1", 1.0]))}
    ),
    st.dictionaries(st.sampled_from(["sku", "quantity", "price"]), odd, max_size=3),
    odd,
)
payment = st.one_of(
    st.dictionaries(
        st.sampled_from(["provider", "token", "method", "reference", "capture", "amount"]),
        st.one_of(st.sampled_from(["test", "manual", "stripe", "automatic", "tok"]), texts),
        max_size=4,
    ).map(lambda extra: {**PAYMENT, **extra}),
    odd,
)
value = {
    "lines": st.lists(line, max_size=3),
    "shipping_address": st.one_of(st.dictionaries(st.text(max_size=3), texts, max_size=3), odd),
    "payment": payment,
}
changes = st.dictionaries(
    st.sampled_from([*CheckoutRequest._declared_fields, "total"]), st.none(), max_size=3
).flatmap(lambda keys: st.fixed_dictionaries({key: value.get(key, odd) for key in keys}))
# A valid body with up to three fields changed (to something valid or not) and some dropped.
bodies = st.builds(
    lambda changed, dropped: {
        key: item for key, item in {**VALID, **changed}.items() if key not in dropped
    },
    changes,
    st.sets(st.sampled_from([*VALID]), max_size=2),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_whatever_the_plain_reading_takes_the_serializer_takes_the_same_way(body):
    plain = checkout_input_plain(body)
    if plain is not None:
        assert plain == serializer_input(body)
