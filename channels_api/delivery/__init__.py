"""The delivery API: store options and order tracking, courier endpoints, staff endpoints."""
