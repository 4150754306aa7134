"""Point of sale: sales rung up at a store's till, online or uploaded later in bulk."""
