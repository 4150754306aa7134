"""Fulfillment: getting orders out of the door, returns, notifications and webhooks."""
