"""The catalog prices in integer minor units and refuses data it cannot trust."""

from __future__ import annotations

import pytest

from smartcart.catalog import CatalogError, Pricing, default_catalog, read_catalog


def test_demo_catalog_has_the_81_dataset_products_in_class_order():
    catalog = default_catalog()
    assert len(catalog) == 81
    assert [p.class_id for p in catalog.by_class_id()] == list(range(81))


def test_per_unit_and_per_kg_prices():
    catalog = default_catalog()
    avocado, banana = catalog["avocado"], catalog["banana"]
    assert avocado.pricing is Pricing.PER_UNIT and avocado.price_for(3) == 3 * 1500
    assert banana.pricing is Pricing.PER_KG
    assert banana.price_for(grams=131) == 328  # 25.00 kr/kg * 0.131 kg = 3.275 kr, half up
    assert banana.price_for(grams=1000) == 2500
    with pytest.raises(ValueError, match="per kg"):
        banana.price_for()


@pytest.mark.parametrize(
    "row",
    [
        "x,X,0,C,D,per_litre,100,SEK,10",  # unknown pricing
        "x,X,0,C,D,per_unit,ten,SEK,10",  # not an integer
        "x,X,0,C,D,per_unit,-1,SEK,10",  # negative price
    ],
)
def test_bad_rows_are_refused_with_the_line(tmp_path, row):
    path = tmp_path / "products.csv"
    header = (
        "sku,name,dataset_class_id,coarse,department,pricing,price_minor,currency,unit_weight_g"
    )
    path.write_text(f"{header}\n{row}\n")
    with pytest.raises(CatalogError, match=":2:"):
        read_catalog(path)
