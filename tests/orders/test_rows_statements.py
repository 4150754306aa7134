"""The hand-written statements of a checkout read the same values the ORM would.

`backoffice.sql.rows_insert` reads plain fields' values as they are and prepares the
others as `bulk_create` does; `models_read` builds instances as a raw queryset would, the
columns' converters applied. Both keep per-shape work between calls, which these pin.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import psycopg._queries
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from backoffice import sql
from backoffice.outbox.models import OutboxEvent
from catalog.models import ProductVariant
from catalog.selectors import variants_for_sale_by_sku
from orders.models import Order, OrderEvent, OrderLine, Payment
from tests.orders.test_checkout import ADDRESS, CHECKOUT

pytestmark = pytest.mark.django_db


def _placed(web_api) -> Order:
    body = web_api.post(
        CHECKOUT,
        {
            "lines": [{"sku": "TEE", "quantity": 2}, {"sku": "MUG", "quantity": 1}],
            "email": "ada@example.com",
            "shipping_address": ADDRESS,
            "shipping_method": "standard",
            "payment": {"provider": "test", "token": "tok_approve"},
        },
    ).json()
    return Order.objects.get(pk=int(body["id"]))


def _comparable(value: object) -> tuple:
    """A value with its type; a JSON adapter (no equality of its own) by what it wraps."""
    return (type(value), getattr(value, "obj", value))


def test_each_field_is_read_for_the_insert_as_the_orm_prepares_it(web_api, shop):
    order = _placed(web_api)
    rows = [
        order,
        *OrderLine.objects.filter(order=order),
        *Payment.objects.filter(order=order),
        *OrderEvent.objects.filter(order=order),
        *OutboxEvent.objects.filter(aggregate=order.holder),
    ]
    # Values of other types than the plain ones: prepared as the field would.
    order.currency = Order.Status.CONFIRMED  # a str subclass (a choices member)
    order.subtotal = "12.30"
    checked = 0
    for obj in rows:
        for field in type(obj)._meta.concrete_fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                continue  # `pre_save` stamps the time: the same path, another instant
            read = _comparable(sql._field_value(field)(obj))
            prepared = _comparable(
                field.get_db_prep_save(field.pre_save(obj, add=True), connection)
            )
            assert read == prepared, (type(obj), field.name)
            checked += 1
    assert checked > 60


def test_a_plain_value_is_read_as_it_is_and_another_one_prepared(web_api, shop):
    order = _placed(web_api)
    line = OrderLine.objects.filter(order=order).first()
    quantity = OrderLine._meta.get_field("quantity")
    assert sql._field_value(quantity)(line) == line.quantity
    line.quantity = "3"  # not an int: prepared (IntegerField.get_prep_value gives 3)
    assert sql._field_value(quantity)(line) == 3


def test_times_amounts_and_tokens_are_read_as_they_are_or_prepared_as_the_orm_does(web_api, shop):
    order = _placed(web_api)
    fields = {name: Order._meta.get_field(name) for name in ("created_at", "updated_at")}
    before = timezone.now()
    stamped = {name: sql._field_value(field)(order) for name, field in fields.items()}
    for name, value in stamped.items():
        # `pre_save` stamped the attribute, and the insert reads that instant as it is.
        assert value is getattr(order, name), name
        assert value >= before and value.tzinfo is not None
    due = Order._meta.get_field("payment_due_at")
    order.payment_due_at = None
    assert sql._field_value(due)(order) is None
    order.payment_due_at = "2030-01-02T03:04:05+00:00"  # not a datetime: prepared
    assert sql._field_value(due)(order) == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    token = Order._meta.get_field("token")
    assert sql._field_value(token)(order) is order.token
    order.token = str(order.token)  # a string: prepared into the UUID
    assert sql._field_value(token)(order) == uuid.UUID(order.token)

    total = Order._meta.get_field("total")
    assert sql._field_value(total)(order) is order.total
    order.total = Decimal("NaN")  # refused as the ORM refuses it
    with pytest.raises(ValidationError):
        sql._field_value(total)(order)
    with pytest.raises(ValidationError):
        total.get_db_prep_save(order.total, connection)


def test_the_variants_read_for_sale_are_the_orm_s_instances(shop):
    tee = shop["tee"]
    tee.options = {"size": "M", "colour": "blue"}
    tee.weight_grams = 250
    tee.save()
    [variant] = variants_for_sale_by_sku(channel=shop["channel"], skus=["TEE"])
    stored = ProductVariant.objects.get(pk=tee.pk)
    for field in ProductVariant._meta.concrete_fields:
        assert getattr(variant, field.attname) == getattr(stored, field.attname), field.name
    assert variant.options == {"size": "M", "colour": "blue"}  # the JSON column decoded
    assert variant.product.name == stored.product.name
    assert variant.channel_price is None or isinstance(variant.channel_price, Decimal)
    assert variant._state.adding is False


def test_psycopg_keeps_the_parsing_of_the_large_statements():
    assert psycopg._queries.MAX_CACHED_STATEMENT_PARAMS >= sql.STATEMENT_CACHE_MAX_PARAMS
    assert psycopg._queries.MAX_CACHED_STATEMENT_LENGTH >= sql.STATEMENT_CACHE_MAX_LENGTH
    before = psycopg._queries.MAX_CACHED_STATEMENT_PARAMS
    assert sql.statement_cache_widen() is True  # idempotent, and never lowers a bound
    assert before == psycopg._queries.MAX_CACHED_STATEMENT_PARAMS


def test_a_psycopg_without_the_bounds_starts_with_a_warning(monkeypatch, caplog):
    # A later psycopg that renamed its (undocumented) bounds: the server must still start.
    monkeypatch.delattr(psycopg._queries, "MAX_CACHED_STATEMENT_PARAMS")

    with caplog.at_level("WARNING", logger="backoffice.sql"):
        assert sql.statement_cache_widen() is False

    assert "no statement-cache bounds" in caplog.text
    assert not hasattr(psycopg._queries, "MAX_CACHED_STATEMENT_PARAMS")
