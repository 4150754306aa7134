"""Security tests reuse the checkout shop."""

from tests.orders.conftest import shop, web_api  # noqa: F401
