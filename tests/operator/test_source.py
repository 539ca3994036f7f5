"""Reading a ConfigMap into a catalog source: which key, which photos, and the content hash."""

from __future__ import annotations

import pytest
from kramar_operator.source import SourceError, catalog_source

from tests.operator.catalogs import catalog_yaml, product
from tests.operator.conftest import binary

YAML = catalog_yaml([product(1)])


def read(data=None, binary_data=None, annotations=None):
    return catalog_source("shop", "catalog", data, binary_data, annotations)


def test_the_catalog_and_its_photos_are_read_with_their_names():
    source = read({"products_master.yaml": YAML, "README": "hi"}, {"KR-OP-0001.png": binary(b"x")})
    assert (source.key, source.content, source.prune) == (
        "products_master.yaml",
        YAML.encode(),
        False,
    )
    assert source.photos == {"KR-OP-0001.png": b"x"}
    assert source.source == "configmap/shop/catalog"
    assert source.file_name == "shop/catalog/products_master.yaml"
    assert source.ignored == ("README",)


def test_a_csv_catalog_may_come_as_binary_data():
    source = read(binary_data={"products_master.csv": binary(b"sku,name\n")})
    assert (source.key, source.content, source.photos) == ("products_master.csv", b"sku,name\n", {})


@pytest.mark.parametrize(
    ("data", "binary_data", "problem"),
    [
        ({"catalog.yaml": YAML}, None, "no catalog in the ConfigMap"),
        ({"products_master.yaml": YAML, "products_master.csv": "sku\n"}, None, "more than one"),
        ({"products_master.yaml": YAML}, {"x.png": "not base64!"}, "not base64"),
    ],
)
def test_a_configmap_without_one_readable_catalog_is_a_source_error(data, binary_data, problem):
    with pytest.raises(SourceError, match=problem):
        read(data, binary_data)


def test_the_hash_follows_the_catalog_photos_and_prune_flag_and_nothing_else():
    base = read({"products_master.yaml": YAML}, {"a.png": binary(b"a")})
    same = read(
        {"products_master.yaml": YAML, "notes": "ignored"},
        {"a.png": binary(b"a")},
        {"kramar.io/synced-at": "x", "owner": "anna", "kramar.io/prune": "false"},
    )
    assert same.digest == base.digest
    others = [
        read({"products_master.yaml": YAML + "\n"}, {"a.png": binary(b"a")}),
        read({"products_master.yaml": YAML}, {"a.png": binary(b"b")}),
        read({"products_master.yaml": YAML}, {"b.png": binary(b"a")}),
        read({"products_master.yaml": YAML}, {"a.png": binary(b"a")}, {"kramar.io/prune": "true"}),
    ]
    assert len({base.digest, *(other.digest for other in others)}) == 5
    assert others[-1].prune
