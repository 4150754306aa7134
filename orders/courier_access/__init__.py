"""Courier access: a courier's least-privilege token (`ft_...`) for the orders they deliver.

- `services`: create and revoke tokens, authenticate one, the orders it may still see, and
  a courier's status update (a timeline row and a system message in the order's thread).

The model is `orders.models.courier_access.FulfillerAccess`.
"""
