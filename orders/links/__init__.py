"""Shop links: "shop now" links under a post, with ready cart lines and an optional allotment.

- `services`: create a link (ring-fencing its allotment), make carts from it, deactivate it;
- `selectors`: links as each audience sees them, priced, with what is left to sell;
- `counters`: the link's clicks, carts and orders, each one conditional `F()` update (its
  own module, so that checkout counts an order without importing the cart workflows);
- `qr`: the public URL and its QR code.

The models are `orders.models.links`. This package's `__init__` imports nothing, so that
checkout can import `orders.links.counters` alone.
"""
