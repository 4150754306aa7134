"""An edit of a row others refer to (a warehouse, a product, a webhook endpoint) locks it
`FOR NO KEY UPDATE`: a row inserted meanwhile that refers to it (its foreign key's check
takes `FOR KEY SHARE` at commit) commits without waiting, so neither waits for the other
and the two cannot deadlock."""

from __future__ import annotations

import pytest

from backoffice.outbox.models import WebhookDelivery
from backoffice.outbox.services import event_fan_out
from backoffice.outbox.webhook_services import (
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from catalog.models import Channel, ProductListing
from catalog.services import ProductInput, product_update
from inventory.models import StockLevel
from inventory.services import stock_adjust
from inventory.services.warehouses import warehouse_update
from tests.factories import make_channel, make_product, make_warehouse
from tests.outbox.conftest import record
from tests.parallel import while_open

pytestmark = pytest.mark.django_db(transaction=True)


def test_stock_arriving_in_a_warehouse_commits_while_its_edit_is_open():
    warehouse = make_warehouse("wh-edit")
    variant = make_product(skus={"PL-A": "5.00"}).variants.get()

    movement = while_open(
        lambda: warehouse_update(warehouse=warehouse, fields={"name": "Renamed"}),
        lambda: stock_adjust(variant=variant, warehouse=warehouse, delta=7, reason="receipt"),
    )

    assert movement.on_hand_after == 7
    warehouse.refresh_from_db()
    assert warehouse.name == "Renamed"
    assert StockLevel.objects.get(variant=variant, warehouse=warehouse).on_hand == 7


def test_a_row_referring_to_a_product_commits_while_the_product_edit_is_open():
    product = make_product(slug="pl-tee", skus={"PL-T": "9.00"})
    channel = make_channel("pl-web", kind=Channel.Kind.WEB)

    listing = while_open(
        lambda: product_update(product=product, data=ProductInput(fields={"name": "New"})),
        # No service inserts a product's row without the product's lock today; an import
        # or a new one would, and must not queue behind a renaming.
        lambda: ProductListing.objects.create(product=product, channel=channel, published=True),
    )

    assert listing.product_id == product.pk
    product.refresh_from_db()
    assert product.name == "New"


@pytest.mark.parametrize("edit", ["update", "rotate"])
def test_a_fan_out_to_an_endpoint_commits_while_its_edit_is_open(edit):
    endpoint = webhook_endpoint_create(url="http://127.0.0.1:9/hooks", event_types=["*"])
    event = record()
    change = {
        "update": lambda: webhook_endpoint_update(endpoint=endpoint, description="ERP"),
        "rotate": lambda: webhook_endpoint_rotate_secret(endpoint=endpoint),
    }[edit]

    taken = while_open(change, event_fan_out)

    assert taken == 1
    assert list(WebhookDelivery.objects.values_list("endpoint_id", "event_id")) == [
        (endpoint.pk, event.pk)
    ]
