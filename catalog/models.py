"""Catalog models: channels, categories, products, variants, listings and channel prices."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from backoffice.fields import code_validator, currency_validator, money_field
from backoffice.money import money_format


class Channel(models.Model):
    """A place where the brand sells: a web store, Instagram, a chatbot, a shop's POS."""

    class Kind(models.TextChoices):
        WEB = "web", "Web store"
        INSTAGRAM = "instagram", "Instagram"
        CHATBOT = "chatbot", "Chatbot"
        POS = "pos", "Point of sale"
        MARKETPLACE = "marketplace", "Marketplace"
        OTHER = "other", "Other"

    code = models.CharField(max_length=50, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WEB)
    currency = models.CharField(max_length=3, validators=[currency_validator], default="USD")
    active = models.BooleanField(default=True)
    # How long a cart holds its stock, and the longest a client may extend it to.
    reservation_ttl_seconds = models.PositiveIntegerField(default=900)
    reservation_max_seconds = models.PositiveIntegerField(default=3600)
    # Checkout rules: tax as a fraction (0.0800 = 8 %), applied to the discounted
    # subtotal plus shipping; when prices include tax, the tax is the part of the total.
    tax_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0))],
    )
    prices_include_tax = models.BooleanField(default=False)
    # Unpaid orders older than this are cancelled and their stock released; 0 = never.
    unpaid_order_timeout_minutes = models.PositiveIntegerField(default=0)
    # How long an order waiting for its card payment (3-D Secure, a wallet) holds its stock
    # before it is released and the order expires (docs/payments.md).
    payment_window_minutes = models.PositiveIntegerField(default=30)
    # Where a shop link lands, e.g. "https://shop.example.com/cart/{cart_id}".
    storefront_url_template = models.CharField(max_length=500, blank=True)
    storefront_url = models.URLField(
        max_length=500,
        blank=True,
        help_text="The storefront's home page (the admin's 'View site' for this channel's staff).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name or self.code


class Category(models.Model):
    """A node of the category tree; `parent` is null at the top."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """What a shopper chooses; the variants are what is stocked and sold."""

    slug = models.SlugField(max_length=150, unique=True)
    name = models.CharField(max_length=250)
    description = models.TextField(blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    attributes = models.JSONField(default=dict, blank=True)
    media = models.JSONField(default=list, blank=True, help_text="A list of image URLs.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ProductImage(models.Model):
    """A picture of a product uploaded by staff, kept in Django's default storage (a local
    media folder, or any storage backend in production); its URL is in `Product.media`."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="products/%Y/%m/")
    alt_text = models.CharField(
        max_length=200, help_text="What the picture shows, for people who cannot see it."
    )
    url = models.CharField(max_length=1000, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Picture of {self.product}: {self.alt_text}"


class ProductVariant(models.Model):
    """A sellable, stockable unit with a unique SKU, e.g. "Tee, black, M"."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=250, blank=True)
    options = models.JSONField(default=dict, blank=True, help_text='e.g. {"size": "M"}')
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    # In settings.DEFAULT_CURRENCY; holds in every channel of that currency unless overridden.
    price = money_field(validators=[MinValueValidator(Decimal(0))])
    low_stock_threshold = models.PositiveIntegerField(default=5)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["product_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="variant_price_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sku} ({self.name})" if self.name else self.sku


class ProductListing(models.Model):
    """Whether a product is published in a channel."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="listings")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="listings")
    published = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "channel"], name="listing_unique_per_channel"
            )
        ]
        indexes = [models.Index(fields=["channel", "published", "product"])]

    def __str__(self) -> str:
        return f"{self.product} in {self.channel}"


class ChannelPrice(models.Model):
    """A variant's price in one channel, in that channel's currency, overriding `price`."""

    variant = models.ForeignKey(
        ProductVariant, on_delete=models.CASCADE, related_name="channel_prices"
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="prices")
    price = money_field(validators=[MinValueValidator(Decimal(0))])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "channel"], name="price_unique_per_channel"),
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="channel_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        price = money_format(self.price, self.channel.currency)
        return f"{self.variant} in {self.channel}: {price}"
