"""Copy the screenshots docs/admin.md shows from var/screenshots/ (made by the browser tests)
into docs/images/, cropped and shrunk: `make test PYTEST_ARGS=tests/browser` first, then
`.venv/bin/python scripts/docs_images.py`."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "var" / "screenshots"
IMAGES = ROOT / "docs" / "images"
# docs image: (screenshot, height kept from the top, in the screenshot's pixels)
PICTURES = {
    "home.png": ("05-home-with-a-paid-order.png", 900),
    "product.png": ("03-product-add.png", 1817),
    "order.png": ("07-order-shipped.png", 1285),
    "cancel.png": ("10-cancel-confirmation.png", 760),
    "refund.png": ("08-refund-a-line.png", 760),
}
WIDTH = 1000


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for name, (shot, height) in PICTURES.items():
        if not (SHOTS / shot).exists():
            raise SystemExit(f"{SHOTS / shot} is missing: run the browser tests first.")
        image = Image.open(SHOTS / shot).convert("RGB")
        image = image.crop((0, 0, image.width, min(height, image.height)))
        image = image.resize((WIDTH, round(image.height * WIDTH / image.width)), Image.LANCZOS)
        image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(
            IMAGES / name, optimize=True
        )
        print(IMAGES / name, (IMAGES / name).stat().st_size // 1024, "KiB")


if __name__ == "__main__":
    main()
