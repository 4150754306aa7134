"""Contact masking in message bodies: emails and phones go, prices, dates and numbers stay."""

from __future__ import annotations

import pytest

from orders.messages.masking import EMAIL_MASK, PHONE_MASK, contacts_mask


@pytest.mark.parametrize(
    "email",
    [
        "a@b.co",
        "first.last+tag@sub.example.org",
        "ADA_LOVELACE@Example.COM",
        "o'neil@example.ie".replace("'", ""),
        "x-y.z@mail.co.uk",
    ],
)
def test_emails_are_masked(email):
    assert contacts_mask(f"write to {email}, thanks") == f"write to {EMAIL_MASK}, thanks"


@pytest.mark.parametrize(
    "phone",
    [
        "+1 (555) 123-4567",
        "+1-555-123-4567",
        "(555) 123-4567",
        "555.123.4567",
        "555-123-4567",
        "555 123 4567",
        "0044 20 7946 0958",
        "+44 20 7946 0958",
        "+44 7911 123456",
        "07911123456",
        "+15551234567",
        "+33 6 12 34 56 78",
        "06.12.34.56.78",
        "+49 30 123456",
        "612 345 678",
    ],
)
def test_phone_numbers_in_many_formats_are_masked(phone):
    assert contacts_mask(f"Call me on {phone} please.") == f"Call me on {PHONE_MASK} please."
    assert contacts_mask(phone) == PHONE_MASK


@pytest.mark.parametrize(
    "text",
    [
        "It costs $19.99, or 1,299.00 EUR, or 19,99 € each.",
        "3 x 19.99 = 59.97 and prices 19.99 25.00 30.00",
        "Order #100042 and order 100043; orders 100042 100043.",
        "Delivered on 2024-05-01 at 10:30, or 2024-05-01T10:30:00.",
        "Dates: 01/05/2024, 12.05.2024, 1-5-24 and 31/12/99.",
        "Postcodes 75001 Paris, SW1A 1AA London, 90210-1234 and 10115 Berlin.",
        "Tracking 1Z999AA10123456784 and ref 123456789012345678.",
        "Size 42, qty 12, room 1204, floor 3, 2 x 3 m.",
        "From 09:00 to 17:30 on 2024-12-24.",
    ],
)
def test_prices_order_numbers_dates_and_postcodes_are_left_alone(text):
    assert contacts_mask(text) == text


def test_a_message_with_everything_masks_only_the_contacts():
    text = (
        "Order #100042 (39.98 USD, placed 2024-05-01 10:30) goes to 75001 Paris. "
        "Ring +33 6 12 34 56 78 or mail ada.l+shop@example.fr."
    )

    assert contacts_mask(text) == (
        "Order #100042 (39.98 USD, placed 2024-05-01 10:30) goes to 75001 Paris. "
        f"Ring {PHONE_MASK} or mail {EMAIL_MASK}."
    )
