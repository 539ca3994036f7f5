"""The baseline: a bare Litestar handler returning a constant, served exactly like kramar."""

from __future__ import annotations

from litestar import Litestar, get

CARD = {
    "sku": "KR-KS-001",
    "name": "Костюм «Мрія»",
    "category": "костюми",
    "price": "2450.00",
    "currency": "UAH",
    "in_stock": True,
}


@get("/bare/{sku:str}")
async def bare(sku: str) -> dict[str, object]:
    return CARD


app = Litestar(route_handlers=[bare])
