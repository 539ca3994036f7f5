"""Importing a catalog file into the database: photos loaded and checked, a plan, one transaction.

`load_catalog` (a file) or `load_upload` (bytes and photos from a request) validate everything and
raise `CatalogFileError` with every problem; `import_catalog` compares the products with the
database and writes only what differs, so importing an unchanged file writes nothing and leaves the
catalog version where it was.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from app.catalog import stock
from app.catalog.errors import CatalogFileError
from app.catalog.fileformat import add_shop_file, describe_sizes, parse_catalog, read_catalog
from app.catalog.models import Photo, Product, Variant
from app.notices.outbox import add_notice
from app.shop.service import read_section, write_section
from app.vision.errors import UnsupportedFormatError
from app.vision.intake import sniff_format

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.catalog.fileformat import Format, ParsedCatalog
    from app.catalog.schemas import ProductIn, Shortfall
    from app.shop.schemas import Shop


@dataclass(frozen=True)
class PhotoAnalysis:
    """What is stored about a photo's pixels: perceptual hashes (signed 64-bit, as the BIGINT
    columns hold them) and, when computed, local features for the second stage of
    identification (see `app.vision.features`)."""

    phash: int
    colorhash: int | None
    features: bytes | None = None
    feature_words: bytes | None = None
    features_version: str | None = None


# The analysis of a photo's bytes; a plain (phash, colorhash) pair means no features. A hasher
# with a `features_version` attribute makes photos stored with another version analysed again.
PhotoHasher = Callable[[bytes], "tuple[int, int | None] | PhotoAnalysis"]
# The bytes already stored for some photo paths (`CatalogService.stored_photos`).
StoredPhotos = Callable[[set[str]], Awaitable[dict[str, bytes]]]

# Any fixed number; it only has to differ from the other advisory locks (migrations, reindex).
IMPORT_LOCK_ID = 5_172_938
URL_PREFIXES = ("http://", "https://")
_scheme_re = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# What an import compares, in the order of the file format; all but stock and photos are columns.
FIELDS = (
    *("name", "category", "price", "description", "sizes", "colours", "stock"),
    *("visual_features", "recognition_tips", "tags", "photos", "active"),
)
COLUMNS = tuple(name for name in FIELDS if name not in {"stock", "photos"})


@dataclass(frozen=True)
class LoadedPhoto:
    """A product photo as the file names it: read and checked, or an http(s) URL kept as is."""

    source: str
    content: bytes | None
    content_type: str | None
    sha256: str | None
    # "file:line: SKU.photos[0]", to name the photo in later problems.
    where: str = field(default="", compare=False)


@dataclass(frozen=True)
class CatalogItem:
    """A valid product with its photos, ready to import."""

    product: ProductIn
    photos: tuple[LoadedPhoto, ...]


class LoadedCatalog(list[CatalogItem]):
    """The valid products of a catalog, and its shop section when the file had one."""

    def __init__(self, items: Iterable[CatalogItem] = (), shop: Shop | None = None) -> None:
        super().__init__(items)
        self.shop = shop


@dataclass
class ImportPlan:
    """What an import does (or, in a dry run, would do)."""

    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    deactivated: list[str] = field(default_factory=list)
    unchanged: int = 0
    dry_run: bool = False
    # Variants the file puts below what open orders hold: the managers are told.
    shortfalls: list[Shortfall] = field(default_factory=list)
    shop: str | None = None
    """The shop section: "added", "changed" or "unchanged"; None when the file has none."""

    def touched_skus(self) -> list[str]:
        """SKUs whose cached cards are stale once this import commits."""
        return [*self.added, *self.changed, *self.deactivated]

    def summary(self, limit: int = 10) -> str:
        """One line: `added 3, changed 2 (KR-KS-001: price, stock), deactivated 0, unchanged 27`."""
        shown = [
            f"{sku}: {', '.join(fields)}" for sku, fields in list(self.changed.items())[:limit]
        ]
        if len(self.changed) > limit:
            shown.append(f"and {len(self.changed) - limit} more")
        details = f" ({'; '.join(shown)})" if shown else ""
        counts = (len(self.added), len(self.changed), len(self.deactivated))
        shop = f"; shop section {self.shop}" if self.shop else ""
        if self.dry_run:
            shop = shop.replace(" added", " would be added").replace(" changed", " would change")
            return (
                f"would add {counts[0]}, change {counts[1]}{details}, deactivate {counts[2]}; "
                f"unchanged {self.unchanged}{self._short(limit)}{shop} (dry run: nothing written)"
            )
        return (
            f"added {counts[0]}, changed {counts[1]}{details}, deactivated {counts[2]}, "
            f"unchanged {self.unchanged}{self._short(limit)}{shop}"
        )

    def _short(self, limit: int) -> str:
        if not self.shortfalls:
            return ""
        shown = [
            f"{s.sku} {s.size}/{s.colour}: on hand {s.on_hand}, reserved {s.reserved}"
            for s in self.shortfalls[:limit]
        ]
        if len(self.shortfalls) > limit:
            shown.append(f"and {len(self.shortfalls) - limit} more")
        told = "managers would be told" if self.dry_run else "managers told"
        return (
            f"; {len(self.shortfalls)} variant(s) below their open orders "
            f"({'; '.join(shown)}; {told})"
        )


# Loading ---------------------------------------------------------------------------------------


def load_catalog(path: Path, *, max_catalog_bytes: int, max_photo_bytes: int) -> LoadedCatalog:
    """Read the catalog file at `path` (and a shop.yaml beside it) and the photo files it names
    (relative to its folder).

    Raises `CatalogFileError` with every problem of the file and its photos.
    """
    catalog = read_catalog(path, max_bytes=max_catalog_bytes)
    return load_photos(catalog, folder=path.parent, max_photo_bytes=max_photo_bytes)


def load_upload(
    data: bytes,
    *,
    name: str,
    max_catalog_bytes: int,
    max_photo_bytes: int,
    photos: Mapping[str, bytes] | None = None,
    fmt: Format | None = None,
    shop: tuple[str, bytes] | None = None,
) -> LoadedCatalog:
    """Validate an uploaded catalog; its photo files come from `photos` (keyed as the file names
    them, e.g. `photos/KR-KS-001.png`), never from the server's disk. `shop`: a separate shop
    file, as (name, bytes).

    Raises `CatalogFileError` with every problem of the file and its photos.
    """
    catalog = parse_catalog(data, name=name, max_bytes=max_catalog_bytes, fmt=fmt)
    if shop is not None:
        add_shop_file(catalog, shop[1], name=shop[0], max_bytes=max_catalog_bytes)
    return load_photos(
        catalog, folder=None, extra_photos=photos or {}, max_photo_bytes=max_photo_bytes
    )


async def load_upload_items(
    data: bytes,
    *,
    name: str,
    photos: Mapping[str, bytes],
    stored: StoredPhotos,
    max_catalog_bytes: int,
    max_photo_bytes: int,
    shop: tuple[str, bytes] | None = None,
) -> LoadedCatalog:
    """Validate an uploaded catalog (the API's upload, a ConfigMap) off the event loop;
    `shop` is a separate shop file (a ConfigMap's `shop.yaml` key) as (name, bytes).

    A photo the file names is taken from `photos` by its path (`photos/KR-KS-001.png`), else by
    its file name (`KR-KS-001.png`: a ConfigMap key cannot hold a `/`), else it is the photo
    already stored under that path (`stored`), so a catalog may be sent again without its photos.
    Raises `CatalogFileError` with every problem of the file and its photos.
    """
    parsed = await asyncio.to_thread(parse_catalog, data, name=name, max_bytes=max_catalog_bytes)
    if shop is not None:
        add_shop_file(parsed, shop[1], name=shop[0], max_bytes=max_catalog_bytes)
    sources = [source for item in parsed.products for source in item.product.photos]
    sources += [source.strip() for _, source in parsed.unchecked_photos]
    named = {source for source in sources if not source.startswith(URL_PREFIXES)}
    given: dict[str, bytes] = {}
    for source in named:
        path = PurePosixPath(source.replace("\\", "/"))
        content = photos.get(str(path), photos.get(path.name))
        if content is not None:
            given[str(path)] = content
    found = await stored(named - given.keys())
    return await asyncio.to_thread(
        load_photos,
        parsed,
        folder=None,
        max_photo_bytes=max_photo_bytes,
        extra_photos={**found, **given},
    )


def load_photo(source: str, content: bytes, *, max_photo_bytes: int) -> LoadedPhoto:
    """One photo file given on its own (the admin panel's upload), checked as a catalog's photos
    are (size, PNG/JPEG/WebP by its bytes); `CatalogFileError` naming `source` otherwise."""
    found = _PhotoReader(None, {source: content}, max_photo_bytes).load(source, source)
    if isinstance(found, str):
        raise CatalogFileError([found])
    return found


def load_photos(
    catalog: ParsedCatalog,
    *,
    folder: Path | None,
    max_photo_bytes: int,
    extra_photos: Mapping[str, bytes] | None = None,
) -> LoadedCatalog:
    """Attach the photos to the products of a parsed catalog; raise `CatalogFileError` with the
    file's problems and every photo problem (missing, too big, not PNG/JPEG/WebP)."""
    reader = _PhotoReader(folder, extra_photos or {}, max_photo_bytes)
    items: list[CatalogItem] = []
    for source_product in catalog.products:
        product = source_product.product
        photos: list[LoadedPhoto] = []
        for index, (source, line) in enumerate(
            zip(product.photos, source_product.photo_lines, strict=True)
        ):
            where = f"{catalog.name}:{line}: {product.sku}.photos[{index}]"
            photo = reader.load(source, where)
            if isinstance(photo, str):
                catalog.problems.append(f"{where}: {photo}")
            else:
                photos.append(photo)
        items.append(CatalogItem(product, tuple(photos)))
    for where, source in catalog.unchecked_photos:
        problem = reader.load(source.strip(), where)
        if isinstance(problem, str):
            catalog.problems.append(f"{where}: {problem}")
    catalog.raise_for_problems()
    return LoadedCatalog(items, catalog.shop)


class _PhotoReader:
    def __init__(self, folder: Path | None, uploads: Mapping[str, bytes], max_bytes: int) -> None:
        self.folder = folder
        self.uploads = uploads
        self.max_bytes = max_bytes
        # One catalog often shows the same photo for several products: read it once.
        self.seen: dict[str, tuple[bytes, str, str] | str] = {}

    def load(self, source: str, where: str) -> LoadedPhoto | str:
        """The loaded photo, or what is wrong with it."""
        if source.startswith(URL_PREFIXES):
            return LoadedPhoto(source, None, None, None, where)
        if _scheme_re.match(source) and not re.match(r"^[A-Za-z]:[\\/]", source):
            return f"{source!r}: only files and http:// or https:// URLs are supported"
        relative = PurePosixPath(source.replace("\\", "/"))
        if relative.is_absolute() or ".." in relative.parts or re.match(r"^[A-Za-z]:", source):
            return f"{source!r}: a photo path must be relative, inside the catalog file's folder"
        key = str(relative)
        if key not in self.seen:
            self.seen[key] = self._read(key)
        found = self.seen[key]
        if isinstance(found, str):
            return found
        content, content_type, digest = found
        return LoadedPhoto(source, content, content_type, digest, where)

    def _read(self, relative: str) -> tuple[bytes, str, str] | str:
        if self.folder is None:
            content = self.uploads.get(relative)
            if content is None:
                return f"{relative!r} was not uploaded with the catalog"
        else:
            path = self.folder / relative
            try:
                size = path.stat().st_size
                if size > self.max_bytes:
                    return self._too_big(relative, size)
                with path.open("rb") as file:
                    content = file.read(self.max_bytes + 1)
            except FileNotFoundError:
                return f"no such file {relative!r} (looked for {path.absolute()})"
            except IsADirectoryError:
                return f"{relative!r} is a folder, not a photo"
            except OSError as error:
                return f"cannot read {relative!r}: {error.strerror}"
        if len(content) > self.max_bytes:
            return self._too_big(relative, len(content))
        try:
            # The same sniffing as customer photos get: one list of formats kramar accepts.
            content_type = f"image/{sniff_format(content).lower()}"
        except UnsupportedFormatError:
            return f"{relative!r} is not a PNG, JPEG or WebP image"
        return content, content_type, hashlib.sha256(content).hexdigest()

    def _too_big(self, relative: str, size: int) -> str:
        return f"{relative!r} is {describe_sizes(size, self.max_bytes)}"


# Planning and writing --------------------------------------------------------------------------


async def count_products(session_factory: async_sessionmaker[AsyncSession]) -> int:
    """How many products the catalog has, active or not."""
    async with session_factory() as session:
        return await session.scalar(select(func.count(Product.id))) or 0


async def import_catalog(
    session_factory: async_sessionmaker[AsyncSession],
    items: Sequence[CatalogItem],
    *,
    prune: bool = False,
    dry_run: bool = False,
    photo_hasher: PhotoHasher | None = None,
) -> ImportPlan:
    """Upsert `items` by SKU in one transaction, writing only what differs; return the plan.

    `prune` deactivates active products the items do not name (nothing is ever deleted).
    `dry_run` computes the plan and writes nothing. With `photo_hasher`, every stored file photo
    gets its perceptual hashes (computed only for photos whose bytes are new to the database).
    The shop section of a `LoadedCatalog` is written with the products when it differs; a
    catalog without one leaves the stored section as it is.
    Call `plan.touched_skus()` after this returns to invalidate cached cards.
    """
    plan = ImportPlan(dry_run=dry_run)
    shop = items.shop if isinstance(items, LoadedCatalog) else None
    async with session_factory() as session, session.begin():
        # Two imports at once (the operator and a person) would race on new SKUs.
        await session.execute(select(func.pg_advisory_xact_lock(IMPORT_LOCK_ID)))
        existing = {p.sku: p for p in await session.scalars(select(Product))}
        hashing = photo_hasher is not None
        current = _features_version(photo_hasher)
        for item in items:
            product = existing.get(item.product.sku)
            if product is None:
                plan.added.append(item.product.sku)
                continue
            differences = _differences(product, item, hashing=hashing, features_version=current)
            if differences:
                plan.changed[item.product.sku] = differences
            else:
                plan.unchanged += 1
        if prune:
            named = {item.product.sku for item in items}
            plan.deactivated = sorted(
                sku for sku, product in existing.items() if product.active and sku not in named
            )
        restocked = [
            (existing[item.product.sku], item.product)
            for item in items
            if "stock" in plan.changed.get(item.product.sku, ())
        ]
        if not dry_run:
            await stock.lock(session, (product.id for product, _ in restocked))
        found = await stock.levels(session, (v.id for p, _ in restocked for v in p.variants))
        for product, data in restocked:
            wanted = data.stock_map()
            # A variant the file no longer has is left with nothing on hand.
            new = {(v.size, v.colour): wanted.get((v.size, v.colour), 0) for v in product.variants}
            plan.shortfalls.extend(stock.shortfalls(product, new, found))
        if shop is not None:
            stored = await read_section(session)
            plan.shop = "added" if stored is None else "unchanged" if stored == shop else "changed"
        if dry_run:
            return plan
        if shop is not None and plan.shop != "unchanged":
            await write_section(session, shop, "import")
        if plan.shortfalls:
            add_notice(session, stock.shortfall_notice(plan.shortfalls, "імпорт каталогу"))

        hashes = await _analyses(session, items, plan, photo_hasher)
        for item in items:
            sku = item.product.sku
            if sku in plan.changed:
                _update(existing[sku], item, plan.changed[sku], hashes)
            elif sku not in existing:
                session.add(_new_product(item, hashes))
        for sku in plan.deactivated:
            existing[sku].active = False
    return plan


def _features_version(photo_hasher: PhotoHasher | None) -> str | None:
    version = getattr(photo_hasher, "features_version", None)
    return version if isinstance(version, str) else None


def _stale(photo: Photo, features_version: str | None) -> bool:
    """A stored file photo whose hashes or features are missing or out of date."""
    if photo.sha256 is None:
        return False
    return photo.phash is None or (
        features_version is not None and photo.features_version != features_version
    )


def _differences(
    product: Product, item: CatalogItem, *, hashing: bool, features_version: str | None = None
) -> list[str]:
    """Names of the fields where the database differs from the file, in the file's order."""
    data = item.product
    differences: list[str] = []
    for name in FIELDS:
        if name == "stock":
            differ = {(v.size, v.colour): v.on_hand for v in product.variants} != data.stock_map()
        elif name == "photos":
            differ = [(p.source, p.sha256) for p in product.photos] != [
                (p.source, p.sha256) for p in item.photos
            ] or (
                # Photos stored before hashing (or these features) was wired in get them now.
                hashing and any(_stale(p, features_version) for p in product.photos)
            )
        else:  # Decimal, str, bool or list: == compares them exactly
            differ = getattr(product, name) != getattr(data, name)
        if differ:
            differences.append(name)
    return differences


Analyses = dict[str, PhotoAnalysis]
"""The analysis (hashes and local features) of photos by sha256."""


async def _analyses(
    session: AsyncSession,
    items: Sequence[CatalogItem],
    plan: ImportPlan,
    photo_hasher: PhotoHasher | None,
) -> Analyses:
    """The analysis, by sha256, of every file photo the import writes: taken from a stored photo
    with the same bytes when it is current, computed (off the event loop) otherwise."""
    if photo_hasher is None:
        return {}
    wanted = _features_version(photo_hasher)
    needed: dict[str, LoadedPhoto] = {}
    added = set(plan.added)
    for item in items:
        sku = item.product.sku
        if sku in added or "photos" in plan.changed.get(sku, ()):
            for photo in item.photos:
                if photo.sha256 is not None:
                    needed.setdefault(photo.sha256, photo)
    if not needed:
        return {}
    known: Analyses = {}
    rows = await session.execute(
        select(
            Photo.sha256,
            Photo.phash,
            Photo.colorhash,
            Photo.features,
            Photo.feature_words,
            Photo.features_version,
        ).where(Photo.sha256.in_(list(needed)), Photo.phash.is_not(None))
    )
    for sha256, phash, colorhash, features, words, version in rows:
        if sha256 is not None and phash is not None and (wanted is None or version == wanted):
            known[sha256] = PhotoAnalysis(phash, colorhash, features, words, version)
    todo = [photo for sha256, photo in needed.items() if sha256 not in known]
    if todo:
        known.update(await hash_photos(todo, photo_hasher))
    return known


async def hash_photos(photos: Sequence[LoadedPhoto], photo_hasher: PhotoHasher) -> Analyses:
    """The analysis by sha256 of file photos, computed off the event loop; a photo that cannot be
    decoded is a `CatalogFileError` naming it."""
    return await asyncio.to_thread(_run_hasher, photo_hasher, list(photos))


def _run_hasher(photo_hasher: PhotoHasher, photos: list[LoadedPhoto]) -> Analyses:
    results: Analyses = {}
    problems: list[str] = []
    for photo in photos:
        assert photo.content is not None and photo.sha256 is not None
        try:
            result = photo_hasher(photo.content)
        # The hasher decodes untrusted images: any failure is a problem with that photo.
        except Exception as error:
            problems.append(f"{photo.where}: cannot read the image: {error}")
            continue
        results[photo.sha256] = (
            result if isinstance(result, PhotoAnalysis) else PhotoAnalysis(*result)
        )
    if problems:
        raise CatalogFileError(problems)
    return results


def photo_row(photo: LoadedPhoto, position: int, analyses: Analyses) -> Photo:
    """The database row of a loaded photo at `position`, with its analysis (by sha256)."""
    found = analyses.get(photo.sha256 or "")
    return Photo(
        position=position,
        source=photo.source,
        content=photo.content,
        content_type=photo.content_type,
        sha256=photo.sha256,
        phash=None if found is None else found.phash,
        colorhash=None if found is None else found.colorhash,
        features=None if found is None else found.features,
        feature_words=None if found is None else found.feature_words,
        features_version=None if found is None else found.features_version,
    )


# What an import writes of a photo row, and what tells whether a stored row needs writing.
PHOTO_COLUMNS = (
    *("source", "content", "content_type", "sha256", "phash", "colorhash"),
    *("features", "feature_words", "features_version"),
)


def _identity(row: Photo) -> tuple[str, str | None, int | None, str | None]:
    return (row.source, row.sha256, row.phash, row.features_version)


def _new_product(item: CatalogItem, hashes: Analyses) -> Product:
    data = item.product
    return Product(
        sku=data.sku,
        **{name: getattr(data, name) for name in COLUMNS},
        variants=[Variant(size=s, colour=c, on_hand=q) for (s, c), q in data.stock_map().items()],
        photos=[photo_row(photo, i, hashes) for i, photo in enumerate(item.photos)],
    )


def _update(product: Product, item: CatalogItem, changed: list[str], hashes: Analyses) -> None:
    """Write the changed fields; variants and photos are updated in place, keyed by size × colour
    and by position, so unchanged rows keep their ids and no unique constraint trips mid-flush."""
    data = item.product
    for name in COLUMNS:
        if name in changed:
            setattr(product, name, getattr(data, name))
    if "stock" in changed:
        wanted = data.stock_map()
        for variant in list(product.variants):
            key = (variant.size, variant.colour)
            if key not in wanted:
                product.variants.remove(variant)
            elif variant.on_hand != wanted[key]:
                variant.on_hand = wanted[key]
        have = {(v.size, v.colour) for v in product.variants}
        product.variants.extend(
            Variant(size=s, colour=c, on_hand=q)
            for (s, c), q in wanted.items()
            if (s, c) not in have
        )
    if "photos" in changed:
        old = list(product.photos)
        for position, photo in enumerate(item.photos):
            new = photo_row(photo, position, hashes)
            if position >= len(old):
                product.photos.append(new)
                continue
            row = old[position]
            if _identity(row) != _identity(new):
                for name in PHOTO_COLUMNS:
                    setattr(row, name, getattr(new, name))
        for row in old[len(item.photos) :]:
            product.photos.remove(row)
