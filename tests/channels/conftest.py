"""Fixtures for the channel features: web, Instagram, chatbot and POS sharing one warehouse."""

from __future__ import annotations

import pytest

from catalog.models import Channel
from channels_api.models import ApiKey
from inventory.models import Warehouse
from tests.conftest import Api
from tests.factories import make_channel, make_key, make_product, make_warehouse, receive

STOREFRONT = "https://shop.example.com/cart/{cart_id}"


@pytest.fixture
def channels(db) -> dict[str, Channel]:
    return {
        "web": make_channel("web", kind=Channel.Kind.WEB),
        "instagram": make_channel(
            "instagram", kind=Channel.Kind.INSTAGRAM, storefront_url_template=STOREFRONT
        ),
        "chatbot": make_channel("chatbot", kind=Channel.Kind.CHATBOT),
        "pos": make_channel("pos", kind=Channel.Kind.POS),
    }


@pytest.fixture
def catalog(channels) -> dict:
    """TEE (19.99, 10 units) and MUG (8.50, 100 units) in `main`, serving the online channels;
    the `soho` store holds 5 TEE and 3 MUG for the POS."""
    online = [channels["web"], channels["instagram"], channels["chatbot"]]
    main = make_warehouse("main", channels=online)
    soho = make_warehouse(
        "soho",
        channels=[channels["pos"]],
        kind=Warehouse.Kind.STORE,
        name="Soho store",
        address={"line1": "1 Greek St", "city": "London", "postal_code": "W1D 4DJ"},
    )
    everywhere = list(channels.values())
    tee = make_product(
        slug="classic-tee", name="Classic Tee", skus={"TEE": "19.99"}, channels=everywhere
    ).variants.get()
    mug = make_product(slug="mug", skus={"MUG": "8.50"}, channels=everywhere).variants.get()
    receive(tee, main, 10)
    receive(mug, main, 100)
    receive(tee, soho, 5)
    receive(mug, soho, 3)
    return {"main": main, "soho": soho, "tee": tee, "mug": mug}


@pytest.fixture
def keys(channels, catalog) -> dict[str, Api]:
    """A publishable key per channel, and `admin` (an unrestricted secret key)."""
    clients = {code: Api(make_key(channel)[1]) for code, channel in channels.items()}
    clients["admin"] = Api(make_key(None, kind=ApiKey.Kind.SECRET)[1])
    return clients
