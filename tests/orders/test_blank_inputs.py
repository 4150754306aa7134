"""Optional text fields whose omission means blank also take an explicit blank (`""`), with
the same result, instead of a 400 "This field may not be blank."."""

from __future__ import annotations

import pytest

from tests.orders.test_admin_orders import place

pytestmark = pytest.mark.django_db

ADMIN = "/api/v1/admin"


@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        (f"{ADMIN}/warehouses", {"code": "WH-BLANK"}, "WH-BLANK"),
        (f"{ADMIN}/channels", {"code": "blank-shop"}, "blank-shop"),
    ],
)
@pytest.mark.parametrize("given", [True, False])
def test_a_blank_name_is_the_same_as_none(admin_api, path, body, named, given):
    response = admin_api.post(path, {**body, "name": ""} if given else body)

    assert response.status_code == 201, response.json()
    assert response.json()["name"] == named


@pytest.mark.parametrize("given", [True, False])
def test_a_capture_takes_a_blank_reference(web_api, admin_api, given):
    order = place(web_api)

    response = admin_api.post(
        f"{ADMIN}/orders/{order['id']}/capture",
        {"method": "cash", "reference": ""} if given else {"method": "cash"},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["payment_status"] == "paid"


@pytest.mark.parametrize("given", [True, False])
def test_a_refund_takes_a_blank_reason(web_api, admin_api, given):
    order = place(web_api, payment={"provider": "manual"})

    response = admin_api.post(
        f"{ADMIN}/orders/{order['id']}/refund", {"reason": ""} if given else {}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["payment_status"] == "refunded"


@pytest.mark.parametrize("given", [True, False])
def test_a_cancel_takes_a_blank_reason(web_api, admin_api, given):
    order = place(web_api)

    response = admin_api.post(
        f"{ADMIN}/orders/{order['id']}/cancel", {"reason": ""} if given else {}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"


@pytest.mark.parametrize("given", [True, False])
def test_a_shipment_takes_a_blank_tracking_url(web_api, admin_api, given):
    order = place(web_api, payment={"provider": "manual"})
    [fulfillment] = admin_api.post(f"{ADMIN}/orders/{order['id']}/fulfillments").json()["results"]
    body = {"carrier": "DHL", "tracking_number": "1"}

    response = admin_api.post(
        f"{ADMIN}/fulfillments/{fulfillment['id']}/ship",
        {**body, "tracking_url": ""} if given else body,
    )

    assert response.status_code == 200, response.json()
    assert response.json()["tracking_url"] == ""


def test_the_schema_lets_those_fields_be_blank(admin_api):
    schemas = admin_api.get("/api/v1/schema/?format=json").json()["components"]["schemas"]

    for schema, name in [
        ("WarehouseInputRequest", "name"),
        ("ChannelInputRequest", "name"),
        ("CaptureInputRequest", "reference"),
        ("RefundInputRequest", "reason"),
        ("CancelInputRequest", "reason"),
        ("ShipInputRequest", "tracking_url"),
    ]:
        field = schemas[schema]["properties"][name]
        blank = [field, *field.get("oneOf", [])]  # a URL: a URI, or the empty string
        assert any(form.get("minLength", 0) == 0 for form in blank), (schema, name, field)
        assert name not in schemas[schema].get("required", []), (schema, name)
