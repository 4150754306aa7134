"""Live streams (server-sent events): the customer's order and the staff's deliveries."""
