"""Staff set-up services (vouchers, shipping methods): every bad input refused, nothing written.

The two creates check a code is free and then insert it; a create that commits the same code
in between must give the same refusal, not an IntegrityError (a 500 in the admin API).
"""

from __future__ import annotations

import pytest

from backoffice.exceptions import ValidationFailed
from catalog.models import Channel
from orders.models import ShippingMethod, Voucher
from orders.services.setup import shipping_method_create, voucher_create
from tests.parallel import while_held

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_voucher_of_an_unknown_kind_is_refused():
    with pytest.raises(ValidationFailed) as refused:
        voucher_create(code="HALF", kind="percent", value="50")
    assert "kind" in refused.value.errors
    assert not Voucher.objects.exists()


def test_a_shipping_method_of_an_unknown_kind_is_refused():
    web = Channel.objects.create(code="web", name="Web")
    with pytest.raises(ValidationFailed) as refused:
        shipping_method_create(channel=web, code="drone", name="Drone", kind="drone")
    assert "kind" in refused.value.errors
    assert not ShippingMethod.objects.exists()


def test_two_creates_of_one_voucher_code_give_one_voucher_and_a_clear_refusal():
    with pytest.raises(ValidationFailed) as refused:
        while_held(
            lambda: Voucher.objects.create(code="RACE", kind="fixed", value="1.00", currency="USD"),
            lambda: voucher_create(code="RACE", kind="fixed", value="2.00"),
        )
    assert "code" in refused.value.errors
    assert list(Voucher.objects.values_list("code", "value")) == [("RACE", 1)]


def test_two_creates_of_one_shipping_code_give_one_method_and_a_clear_refusal():
    web = Channel.objects.create(code="web", name="Web")
    with pytest.raises(ValidationFailed) as refused:
        while_held(
            lambda: ShippingMethod.objects.create(channel=web, code="std", name="A", price="1"),
            lambda: shipping_method_create(channel=web, code="std", name="B", price="2.00"),
        )
    assert "code" in refused.value.errors
    assert list(ShippingMethod.objects.values_list("name", flat=True)) == ["A"]
