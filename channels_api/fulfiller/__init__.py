"""Fulfiller API: what a courier sees and does with a least-privilege `ft_` token."""
