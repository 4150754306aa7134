"""Staff: roles, their scopes (channels and warehouses), and the Django admin site they work in."""
