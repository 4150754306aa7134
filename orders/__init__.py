"""Orders: carts, checkout, orders, payments and their timeline."""
