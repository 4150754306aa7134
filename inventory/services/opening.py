"""A product and its first stock, saved together (the admin's product page)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from catalog.models import Product
from catalog.services import ProductInput, product_create, product_update
from inventory.locks import stock_levels_lock_pairs
from inventory.models import StockMovement, Warehouse
from inventory.services.ledger import stock_adjust


@dataclass(frozen=True)
class OpeningStock:
    sku: str
    warehouse: Warehouse
    quantity: int


def product_save_with_stock(
    *,
    data: ProductInput,
    product: Product | None = None,
    opening_stock: list[OpeningStock] = (),
    actor: str = "",
) -> Product:
    """Create (or change) a product with its variants, listings and channel prices, and
    receive the first units of its variants, all or nothing.

    Each opening quantity is a `receipt` ledger line ("Opening stock"). Raises what
    `product_create`/`product_update` and `stock_adjust` raise; then nothing is saved.
    """
    with transaction.atomic():
        if product is None:
            product = product_create(data=data, actor=actor)
        else:
            product = product_update(product=product, data=data, actor=actor)
        variants = {variant.sku: variant for variant in product.variants.all()}
        receipts = [line for line in opening_stock if line.quantity > 0]
        # All the rows at once, in the one lock order, before changing any of them.
        stock_levels_lock_pairs([(variants[line.sku], line.warehouse) for line in receipts])
        for line in receipts:
            stock_adjust(
                variant=variants[line.sku],
                warehouse=line.warehouse,
                delta=line.quantity,
                reason=StockMovement.Reason.RECEIPT,
                actor=actor,
                note="Opening stock",
            )
    return product
