"""The store's product master data (the demo store's 81 Grocery Store Dataset products).

Prices are integer minor units: per item for ``per_unit`` products, per kilogram for ``per_kg``
products, which are charged from the grams the cart weighed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path


class Pricing(StrEnum):
    PER_UNIT = "per_unit"
    PER_KG = "per_kg"


class CatalogError(ValueError):
    """A catalog file that cannot be trusted for pricing."""


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    class_id: int  # fine-grained class id in the Grocery Store Dataset
    coarse: str  # coarse class name in the dataset (Apple, Milk, ...)
    department: str
    pricing: Pricing
    price_minor: int
    currency: str
    unit_weight_g: int  # nominal weight of one item

    def price_for(self, quantity: int = 1, grams: int | None = None) -> int:
        """Price in minor units; per-kg products need the weighed grams (rounded half up)."""
        if self.pricing is Pricing.PER_UNIT:
            return self.price_minor * quantity
        if grams is None:
            raise ValueError(f"{self.sku} is sold per kg: grams are required")
        return (self.price_minor * grams + 500) // 1000


@dataclass(frozen=True)
class Catalog(Mapping[str, Product]):
    products: Mapping[str, Product]
    name: str = "grocery-store/81"

    def __getitem__(self, sku: str) -> Product:
        return self.products[sku]

    def __iter__(self) -> Iterator[str]:
        return iter(self.products)

    def __len__(self) -> int:
        return len(self.products)

    def by_class_id(self) -> list[Product]:
        """Products ordered by dataset class id: the recognizer's output order."""
        return sorted(self.products.values(), key=lambda p: p.class_id)


def read_catalog(path: Path) -> Catalog:
    products: dict[str, Product] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for lineno, row in enumerate(csv.DictReader(f), start=2):
            try:
                p = Product(
                    sku=row["sku"],
                    name=row["name"],
                    class_id=int(row["dataset_class_id"]),
                    coarse=row["coarse"],
                    department=row["department"],
                    pricing=Pricing(row["pricing"]),
                    price_minor=int(row["price_minor"]),
                    currency=row["currency"],
                    unit_weight_g=int(row["unit_weight_g"]),
                )
            except (KeyError, ValueError) as e:
                raise CatalogError(f"{path}:{lineno}: {e}") from e
            if p.price_minor < 0 or p.unit_weight_g <= 0:
                raise CatalogError(f"{path}:{lineno}: negative price or non-positive weight")
            if p.sku in products:
                raise CatalogError(f"{path}:{lineno}: duplicate sku {p.sku}")
            products[p.sku] = p
    return Catalog(products)


@cache
def default_catalog() -> Catalog:
    """The demo store's catalog shipped with the package."""
    with resources.as_file(resources.files("smartcart.data") / "products.csv") as path:
        return read_catalog(path)
