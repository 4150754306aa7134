"""Store API: what sales channels call with a publishable key."""
