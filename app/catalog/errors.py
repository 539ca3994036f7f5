"""Catalog errors; the API maps each to an HTTP status with its message."""

from __future__ import annotations


class CatalogError(Exception):
    """Base of all catalog errors; `str(error)` is a message a person can act on."""

    status_code = 400


class ProductNotFoundError(CatalogError):
    status_code = 404

    def __init__(self, sku: str) -> None:
        super().__init__(f"no product with SKU {sku!r}")
        self.sku = sku


class VariantNotFoundError(CatalogError):
    status_code = 404

    def __init__(self, sku: str, size: str, colour: str) -> None:
        super().__init__(f"product {sku!r} has no variant of size {size!r} and colour {colour!r}")


class ProductExistsError(CatalogError):
    status_code = 409

    def __init__(self, sku: str) -> None:
        super().__init__(f"a product with SKU {sku!r} already exists; update it instead")


class ConstraintViolationError(CatalogError):
    """A write broke a rule of the catalog tables other than the SKU's uniqueness."""

    status_code = 422

    # What each named constraint of the catalog tables means, for the person who broke it.
    MEANINGS = {
        "ck_product_photos_file_or_url": "a photo given to the API must be an http(s) URL",
        "ck_products_price_not_negative": "the price must not be negative",
        "ck_product_variants_stock_not_negative": "stock must not be negative",
        "uq_product_variants_size_colour": "each size × colour may be listed once",
        "uq_product_photos_position": "each photo position may be used once",
    }

    def __init__(self, sku: str, constraint: str | None) -> None:
        meaning = self.MEANINGS.get(constraint or "", f"it breaks the rule {constraint!r}")
        super().__init__(f"product {sku!r} was not saved: {meaning}")
        self.constraint = constraint


class ProductChangedError(CatalogError):
    """Someone else saved the product after the edit began (optimistic concurrency)."""

    status_code = 409

    def __init__(self, sku: str) -> None:
        super().__init__(
            f"product {sku!r} was changed by someone else since you opened it; "
            "nothing was saved: reload it and apply your changes again"
        )
        self.sku = sku


class PhotoNotFoundError(CatalogError):
    status_code = 404

    def __init__(self, sku: str, position: int) -> None:
        super().__init__(f"product {sku!r} has no stored photo number {position}")


class CatalogFileError(CatalogError):
    """A catalog file failed validation; `problems` lists `file:line: field: what is wrong`."""

    status_code = 422

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n".join(problems[:50])
        more = f"\n... and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in the catalog file:\n{shown}{more}")
