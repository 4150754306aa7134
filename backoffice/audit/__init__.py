"""Audit trail: who changed what (staff or API key) on prices, channels and other settings."""
