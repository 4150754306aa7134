"""Inventory fixtures: the `web` channel served by two warehouses, and a tee to stock."""

from __future__ import annotations

import pytest

from catalog.models import Channel, ProductVariant
from inventory.models import Warehouse
from tests.factories import make_product, make_warehouse


@pytest.fixture
def main(web: Channel) -> Warehouse:
    """The first warehouse `web` ships from."""
    return make_warehouse("main", channels=[web])


@pytest.fixture
def backup(web: Channel, main: Warehouse) -> Warehouse:
    """The second warehouse `web` ships from (lower priority than `main`)."""
    return make_warehouse("backup", channels=[web])


@pytest.fixture
def tee(web: Channel) -> ProductVariant:
    """A variant listed in `web`, with the default low-stock threshold of 5."""
    return make_product(slug="tee", skus={"TEE": "19.99"}, channels=[web]).variants.get()


@pytest.fixture
def mug(web: Channel) -> ProductVariant:
    return make_product(slug="mug", skus={"MUG": "8.50"}, channels=[web]).variants.get()
