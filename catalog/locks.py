"""Row locks of the catalog: a product, for the edits that change it (docs/architecture.md)."""

from __future__ import annotations

from catalog.models import Product


def product_lock(*, product_id: int) -> Product:
    """Lock a product for an edit, `FOR NO KEY UPDATE`.

    Not `FOR UPDATE`: every row inserted that refers to the product (a variant, a listing,
    a picture) takes `FOR KEY SHARE` on it for its foreign key's check, and must not
    queue behind an edit of its name or description. Edits still wait for one another.
    An edit that changes the slug (the one other unique column) is upgraded by
    PostgreSQL itself to `FOR UPDATE` when it writes the row; the inserters it then
    waits for hold nothing it holds, so that never deadlocks.
    """
    return Product.objects.select_for_update(no_key=True).get(pk=product_id)
