"""The product part of an LLM prompt: a few compact lines per product, never over a size bound."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.catalog.schemas import Product

MAX_CHARS = 2000
# Long free text is cut: the model needs enough to tell products apart, not the whole card.
FEATURES_CHARS = 160
TIPS_CHARS = 120


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _price(product: Product) -> str:
    whole = product.price == product.price.to_integral_value()
    amount = f"{product.price:.0f}" if whole else f"{product.price:.2f}"
    return f"{amount} грн"


def product_lines(product: Product) -> str:
    """One product in 2-3 lines: what the model may quote, and how to recognise it."""
    stocked = [
        s for s in product.sizes if any(v.size == s and v.available > 0 for v in product.variants)
    ]
    head = (
        f"[{product.sku}] {product.name} — {_price(product)}; "
        f"кольори: {', '.join(product.colours)}; "
        f"в наявності: {', '.join(stocked) if stocked else 'немає'}"
    )
    lines = [head]
    if product.visual_features:
        lines.append("  вигляд: " + _clip(product.visual_features, FEATURES_CHARS))
    if product.recognition_tips:
        lines.append("  відмінність: " + _clip(product.recognition_tips, TIPS_CHARS))
    return "\n".join(lines)


def build_context(cards: list[Product], *, max_chars: int = MAX_CHARS) -> str:
    """Cards in the order given (best first) until `max_chars`; the rest are dropped, and a
    product that does not fit whole is shortened to its first line or left out."""
    out: list[str] = []
    used = 0
    for card in cards:
        block = product_lines(card)
        for candidate in (block, block.split("\n", 1)[0]):
            cost = len(candidate) + (1 if out else 0)
            if used + cost <= max_chars:
                out.append(candidate)
                used += cost
                break
        else:
            if not out:  # even the best product's first line is too long: clip it
                out.append(_clip(block.split("\n", 1)[0], max_chars))
            break
    return "\n".join(out)
