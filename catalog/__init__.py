"""Catalog: sales channels, categories, products, variants and per-channel listings."""
