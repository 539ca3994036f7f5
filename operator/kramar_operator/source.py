"""A catalog ConfigMap read into what the importer takes: the catalog file, photos, prune flag.

The ConfigMap holds the catalog under one of `CATALOG_KEYS` (in `data`, or in `binaryData` when it
is not UTF-8 text, as `kubectl create configmap --from-file` puts it), and photos in `binaryData`
keyed by their file names (`KR-KS-001.png`: a ConfigMap key cannot hold a `/`, so the catalog's
`photos/KR-KS-001.png` is found by its file name). `kubectl create configmap shop-catalog
--from-file=products_master.yaml --from-file=photos/` makes exactly that. Photos given as http(s)
URLs need nothing here; a photo path found nowhere else is the one already stored under that path
(uploaded earlier), so a catalog past the 1 MiB ConfigMap limit can keep its photos in the
database. The shop section (delivery, payment, returns, ...) is a `shop:` key of the catalog file
or a `shop.yaml` key of the ConfigMap. Everything here is pure: no API calls, no database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

LABEL = "kramar.io/catalog"
PRUNE = "kramar.io/prune"
CATALOG_KEYS = ("products_master.yaml", "products_master.yml", "products_master.csv")
SHOP_KEY = "shop.yaml"


class SourceError(ValueError):
    """The ConfigMap is not a catalog the importer can read (no catalog key, bad binaryData)."""


@dataclass(frozen=True)
class CatalogSource:
    """One catalog ConfigMap's content, and the hash that says whether it was imported."""

    source: str  # configmap/<namespace>/<name>: the key of its row in catalog_sources
    key: str  # which catalog key it holds, e.g. products_master.yaml
    content: bytes
    photos: Mapping[str, bytes] = field(repr=False)
    prune: bool
    digest: str
    ignored: tuple[str, ...] = ()  # data keys that are neither the catalog nor photos
    shop: bytes | None = None  # the shop.yaml key, when the section is not in the catalog file

    @property
    def file_name(self) -> str:
        """How problems name the file: `<namespace>/<name>/<key>`, as in `file:line: ...`."""
        return self.file_name_of(self.key)

    def file_name_of(self, key: str) -> str:
        """How problems name one key of the ConfigMap: `<namespace>/<name>/<key>`."""
        return f"{self.source.removeprefix('configmap/')}/{key}"


def catalog_source(
    namespace: str,
    name: str,
    data: Mapping[str, str] | None,
    binary_data: Mapping[str, str] | None,
    annotations: Mapping[str, str] | None,
) -> CatalogSource:
    """The catalog a ConfigMap holds; `SourceError` when it holds none or it is unreadable."""
    text = dict(data or {})
    binary: dict[str, bytes] = {}
    for key, value in (binary_data or {}).items():
        try:
            binary[key] = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as error:
            raise SourceError(f"binaryData {key!r} is not base64: {error}") from error
    present = [key for key in CATALOG_KEYS if key in text or key in binary]
    if not present:
        raise SourceError(
            f"no catalog in the ConfigMap: expected one of the keys {', '.join(CATALOG_KEYS)}"
        )
    if len(present) > 1:
        raise SourceError(f"more than one catalog in the ConfigMap: {', '.join(present)}")
    key = present[0]
    content = text[key].encode() if key in text else binary.pop(key)
    shop = text[SHOP_KEY].encode() if SHOP_KEY in text else binary.pop(SHOP_KEY, None)
    prune = (annotations or {}).get(PRUNE, "").strip().lower() == "true"
    return CatalogSource(
        source=f"configmap/{namespace}/{name}",
        key=key,
        content=content,
        photos=binary,
        prune=prune,
        digest=_digest(key, content, binary, prune, shop),
        ignored=tuple(sorted(k for k in text if k not in (key, SHOP_KEY))),
        shop=shop,
    )


def _digest(
    key: str, content: bytes, photos: Mapping[str, bytes], prune: bool, shop: bytes | None
) -> str:
    """sha256 of everything an import reads from the ConfigMap, and nothing else."""
    manifest = {
        "key": key,
        "catalog": hashlib.sha256(content).hexdigest(),
        "photos": {name: hashlib.sha256(value).hexdigest() for name, value in photos.items()},
        "prune": prune,
    }
    if shop is not None:  # absent: the digest of a ConfigMap without it stays what it was
        manifest["shop"] = hashlib.sha256(shop).hexdigest()
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
