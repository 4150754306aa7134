"""Order messages: one thread per order between the customer, staff, the courier and the system.

- `services`: post a message, list a thread, and the body as each viewer may read it;
- `masking`: the email addresses and phone numbers hidden from the other participants.

The model is `orders.models.messages.OrderMessage`.
"""
