"""Catalog files as a ConfigMap would hold them."""

from __future__ import annotations

from typing import Any

import yaml

NAMESPACE = "shop"


def product(number: int, **overrides: Any) -> dict[str, Any]:
    """A valid product of the YAML catalog format, SKU KR-OP-<number>."""
    fields: dict[str, Any] = {
        "sku": f"KR-OP-{number:04d}",
        "name": f"Сукня «Весна {number}»",
        "category": "сукні",
        "price": "1299.00",
        "description": f"Легка сукня міді з віскози, модель {number}.",
        "sizes": ["S", "M"],
        "colours": ["синій"],
        "stock": [{"size": "S", "colour": "синій", "qty": 2}],
        "visual_features": "Сукня з поясом і короткими рукавами.",
        "recognition_tips": "Дрібний квітковий принт.",
        "tags": ["віскоза", "літо"],
    }
    fields.update(overrides)
    return fields


def catalog_yaml(products: list[dict[str, Any]]) -> str:
    return yaml.safe_dump({"products": products}, allow_unicode=True, sort_keys=False)
