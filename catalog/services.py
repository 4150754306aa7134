"""Catalog writes: channels and products with their variants, listings and channel prices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from backoffice.audit.services import audit_record
from backoffice.exceptions import ValidationFailed
from backoffice.money import parse_amount
from catalog.locks import product_lock
from catalog.models import (
    Category,
    Channel,
    ChannelPrice,
    Product,
    ProductImage,
    ProductListing,
    ProductVariant,
)

# A POS sells over the counter: nothing to hold between scan and payment.
_DEFAULT_TTL_BY_KIND = {Channel.Kind.POS: 0}


def channel_create(
    *,
    code: str,
    name: str = "",
    kind: str = Channel.Kind.WEB,
    currency: str = "USD",
    actor: str = "",
    **options: Any,
) -> Channel:
    """Create a sales channel. Its reservation TTL defaults to 15 minutes, 0 for a POS."""
    if Channel.objects.filter(code=code).exists():
        raise ValidationFailed({"code": [f"A channel with code '{code}' exists."]})
    options.setdefault("reservation_ttl_seconds", _DEFAULT_TTL_BY_KIND.get(kind, 900))
    channel = Channel(code=code, name=name or code, kind=kind, currency=currency.upper(), **options)
    try:
        channel.full_clean()
    except DjangoValidationError as error:
        raise ValidationFailed(error.message_dict) from error
    with transaction.atomic():
        channel.save()
        audit_record(
            actor=actor or "system",
            action="channel.created",
            target_type="channel",
            target_id=channel.code,
            changes={"kind": kind, "currency": channel.currency, **options},
        )
    return channel


@dataclass
class VariantInput:
    sku: str
    price: Any = None
    name: str | None = None
    options: dict | None = None
    weight_grams: int | None = None
    low_stock_threshold: int | None = None
    position: int | None = None


@dataclass
class ListingInput:
    channel: str
    published: bool = True
    prices: dict[str, Any] | None = None


@dataclass
class ProductInput:
    fields: dict[str, Any] = field(default_factory=dict)
    category: str | None = None
    category_given: bool = False
    variants: list[VariantInput] | None = None
    listings: list[ListingInput] | None = None


def product_create(*, data: ProductInput, actor: str = "") -> Product:
    """Create a product with its variants (unique SKUs) and channel listings, all or nothing."""
    _check_slug_free(data.fields.get("slug"))
    with transaction.atomic():
        product = Product(**data.fields)
        if data.category_given:
            product.category = _category(data.category)
        product.save()
        _apply_children(product, data)
        _audit(actor, "product.created", product, data)
    return product


def _audit(actor: str, action: str, product: Product, data: ProductInput | None) -> None:
    """Prices and listings are what staff most need to trace: record what was sent."""
    changes = (
        {}
        if data is None
        else {
            "fields": {k: v for k, v in data.fields.items() if k in ("slug", "name")},
            "variants": [
                {"sku": v.sku, "price": None if v.price is None else str(v.price)}
                for v in data.variants or []
            ],
            "listings": [
                {
                    "channel": item.channel,
                    "published": item.published,
                    "prices": {sku: str(p) for sku, p in (item.prices or {}).items()},
                }
                for item in data.listings or []
            ],
        }
    )
    audit_record(
        actor=actor or "system",
        action=action,
        target_type="product",
        target_id=product.pk,
        changes=changes,
    )


def product_update(*, product: Product, data: ProductInput, actor: str = "") -> Product:
    """Change a product. Variants are upserted by SKU; a listing replaces that channel's prices."""
    _check_slug_free(data.fields.get("slug"), exclude=product)
    with transaction.atomic():
        product = product_lock(product_id=product.pk)
        for name, value in data.fields.items():
            setattr(product, name, value)
        if data.category_given:
            product.category = _category(data.category)
        product.save()
        _apply_children(product, data)
        _audit(actor, "product.updated", product, data)
    return product


def product_delete(*, product: Product, actor: str = "") -> None:
    """Delete a product; refused while any of its variants still has stock records."""
    try:
        with transaction.atomic():
            _audit(actor, "product.deleted", product, None)
            product.delete()
    except ProtectedError as error:
        raise ValidationFailed(
            {"product": ["It has stock records; unpublish it instead of deleting it."]}
        ) from error


def _check_slug_free(slug: str | None, exclude: Product | None = None) -> None:
    if slug and Product.objects.filter(slug=slug).exclude(pk=getattr(exclude, "pk", None)).exists():
        raise ValidationFailed({"slug": [f"A product with slug '{slug}' exists."]})


def _category(slug: str | None) -> Category | None:
    if slug is None:
        return None
    category = Category.objects.filter(slug=slug).first()
    if category is None:
        raise ValidationFailed({"category": [f"Unknown category '{slug}'."]})
    return category


def _apply_children(product: Product, data: ProductInput) -> None:
    try:
        with transaction.atomic():
            if data.variants is not None:
                _upsert_variants(product, data.variants)
            if data.listings is not None:
                _upsert_listings(product, data.listings)
    except IntegrityError as error:
        raise ValidationFailed(
            {"variants": ["A SKU is already used by another product."]}
        ) from error


def _upsert_variants(product: Product, variants: Iterable[VariantInput]) -> None:
    existing = {variant.sku: variant for variant in product.variants.all()}
    errors: dict[str, list[str]] = {}
    taken = set(
        ProductVariant.objects.filter(sku__in=[v.sku for v in variants])
        .exclude(product=product)
        .values_list("sku", flat=True)
    )
    for index, item in enumerate(variants):
        if item.sku in taken:
            errors.setdefault(f"variants.{index}.sku", []).append(f"SKU '{item.sku}' is taken.")
            continue
        variant = existing.get(item.sku) or ProductVariant(product=product, sku=item.sku)
        if item.price is not None:
            try:
                variant.price = parse_amount(item.price, settings.DEFAULT_CURRENCY)
            except ValueError as error:
                errors.setdefault(f"variants.{index}.price", []).append(str(error))
                continue
        elif variant.pk is None:
            errors.setdefault(f"variants.{index}.price", []).append("A new variant needs a price.")
            continue
        for name in ("name", "options", "weight_grams", "low_stock_threshold", "position"):
            value = getattr(item, name)
            if value is not None:
                setattr(variant, name, value)
        variant.save()
    if errors:
        raise ValidationFailed(errors)


def _upsert_listings(product: Product, listings: Iterable[ListingInput]) -> None:
    channels = {
        c.code: c for c in Channel.objects.filter(code__in=[item.channel for item in listings])
    }
    variants = {variant.sku: variant for variant in product.variants.all()}
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(listings):
        channel = channels.get(item.channel)
        if channel is None:
            errors.setdefault(f"listings.{index}.channel", []).append(
                f"Unknown channel '{item.channel}'."
            )
            continue
        ProductListing.objects.update_or_create(
            product=product, channel=channel, defaults={"published": item.published}
        )
        if item.prices is None:
            continue
        prices: dict[int, Decimal] = {}
        for sku, raw in item.prices.items():
            variant = variants.get(sku)
            if variant is None:
                errors.setdefault(f"listings.{index}.prices", []).append(
                    f"'{sku}' is not a variant of this product."
                )
                continue
            try:
                prices[variant.pk] = parse_amount(raw, channel.currency)
            except ValueError as error:
                errors.setdefault(f"listings.{index}.prices", []).append(f"{sku}: {error}")
        ChannelPrice.objects.filter(variant__product=product, channel=channel).exclude(
            variant_id__in=prices
        ).delete()
        for variant_id, price in prices.items():
            ChannelPrice.objects.update_or_create(
                variant_id=variant_id, channel=channel, defaults={"price": price}
            )
    if errors:
        raise ValidationFailed(errors)


def product_image_add(*, product: Product, upload, alt_text: str, actor: str = "") -> ProductImage:
    """Keep an uploaded picture in the default storage and list its URL in `product.media`
    (after the pictures already there), so every channel shows it.

    Refuses (ValidationFailed) a picture without a description (`alt_text`): the
    storefronts show it to people who cannot see the picture.
    """
    alt_text = (alt_text or "").strip()
    if not alt_text:
        raise ValidationFailed({"alt_text": ["Say what the picture shows."]})
    image = ProductImage(product=product, alt_text=alt_text[:200])
    image.image.save(upload.name, upload, save=False)  # storage first: it is not transactional
    image.url = image.image.url
    with transaction.atomic():
        locked = product_lock(product_id=product.pk)
        image.save()
        locked.media = [*(locked.media or []), image.url]
        locked.save(update_fields=["media", "updated_at"])
        audit_record(
            actor=actor or "system",
            action="product.image_added",
            target_type="product",
            target_id=product.pk,
            changes={"url": image.url, "alt_text": image.alt_text},
        )
    return image


def product_image_remove(*, image: ProductImage, actor: str = "") -> None:
    """Take a picture off the product (and out of `media`) and delete its file."""
    with transaction.atomic():
        product = product_lock(product_id=image.product_id)
        product.media = [url for url in product.media or [] if url != image.url]
        product.save(update_fields=["media", "updated_at"])
        image.delete()
        audit_record(
            actor=actor or "system",
            action="product.image_removed",
            target_type="product",
            target_id=product.pk,
            changes={"url": image.url},
        )
    image.image.delete(save=False)
