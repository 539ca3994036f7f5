"""Draw the demo catalog's product photos from `products_master.yaml`.

Every photo is a flat "studio shot" built only from the product's catalog data:

* the category (refined by keywords of the name, description, visual features and tags) picks a
  parametric silhouette — a top with sleeves/neckline/hood, trousers, a skirt, a dress, or a
  two-piece set — expressed as polygons and strokes in a unit box;
* the first colour fills the garment, and keywords pick the fabric texture (stripes, polka dots,
  checks, plush, rib, cable knit, quilting, denim, satin, linen) and the details drawn on top
  (zipper, hood, pockets, buttons, collar, lapels, belt, prints, stitching, piping, side stripes);
* a backdrop with a per-product tint, gradient, soft "window light" bands and sometimes planks sits
  behind the garment, with a blurred drop shadow and soft edge shading for volume.

A product's second photo is the same garment seen from the back on a hanger, on another backdrop.

The pictures must stay apart under the perceptual hash the shop uses to recognise customer photos
(64-bit pHash on grayscale), so pose, scale, rotation and backdrop are drawn from a seed. Products
are processed in catalog order; a product keeps the first seed variant whose photos are at least
SEARCH_PHASH_DISTANCE away from every photo of the products before it, so adding a product at the
end never changes the earlier photos. All randomness comes from zlib.crc32 of the SKU, so the same
YAML always gives byte-identical PNGs (for a given Pillow version).

Usage: python scripts/generate_demo_photos.py [--catalog PATH] [--check]
"""

from __future__ import annotations

import argparse
import colorsys
import io
import itertools
import math
import random
import re
import sys
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
import numpy.typing as npt
import yaml
from PIL import Image, ImageDraw, ImageFilter

W, H = 360, 480
SS = 2  # supersampling factor: draw at 2x and downscale for smooth edges
PALETTE_COLOURS = 64
MIN_PHASH_DISTANCE = 18  # required between photos of different products
# The variant search aims higher, so that a re-compressed or cropped customer copy of a photo
# still lands nearest to its own product.
SEARCH_PHASH_DISTANCE = 20
MAX_VARIANTS = 200
DEFAULT_CATALOG = Path(__file__).resolve().parent.parent / "data/catalog/products_master.yaml"

RGB = tuple[int, int, int]
Pt = tuple[float, float]
Arr = npt.NDArray[np.float32]

COLOURS: dict[str, RGB] = {
    "чорний": (28, 28, 30),
    "білий": (246, 246, 243),
    "бежевий": (215, 193, 160),
    "рожевий": (238, 172, 188),
    "пудровий": (224, 186, 180),
    "графітовий": (68, 70, 75),
    "оливковий": (110, 116, 66),
    "молочний": (242, 236, 220),
    "синій": (38, 58, 118),
    "темно-синій": (26, 36, 72),
    "бордовий": (112, 26, 42),
    "сірий": (152, 152, 155),
    "блакитний": (142, 182, 216),
    "жовтий": (240, 202, 62),
    "гірчичний": (200, 150, 42),
    "червоний": (182, 36, 42),
    "коричневий": (112, 76, 50),
    "смарагдовий": (18, 108, 84),
    "зелений": (52, 112, 62),
    "лавандовий": (182, 164, 212),
    "м'ятний": (170, 222, 200),
    "персиковий": (246, 190, 150),
    "хакі": (120, 112, 76),
}
# Denim dyes differ from flat fabric colours of the same name.
DENIM: dict[str, RGB] = {
    "синій": (52, 78, 128),
    "блакитний": (126, 160, 198),
    "чорний": (44, 45, 50),
}
NAVY: RGB = (30, 40, 78)
OFF_WHITE: RGB = (244, 241, 234)
METAL: RGB = (196, 196, 200)
COPPER: RGB = (186, 132, 70)
STITCH: RGB = (214, 164, 74)


def stable_seed(*parts: object) -> int:
    return zlib.crc32("#".join(str(p) for p in parts).encode())


def luma(c: RGB) -> float:
    return (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255


def colour_of(name: str, denim: bool) -> RGB:
    key = name.strip().lower()
    if denim and key in DENIM:
        return DENIM[key]
    if key in COLOURS:
        return COLOURS[key]
    # An unknown colour name still gets a stable, mid-light colour.
    hue = stable_seed(key) % 360 / 360
    r, g, b = colorsys.hsv_to_rgb(hue, 0.45, 0.7)
    return (round(r * 255), round(g * 255), round(b * 255))


def tone(c: RGB, t: float) -> RGB:
    """Lighten (t > 0, towards white) or darken (t < 0, towards black)."""
    if t >= 0:
        return tuple(round(v + (255 - v) * t) for v in c)  # type: ignore[return-value]
    return tuple(round(v * (1 + t)) for v in c)  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# Garment description: shapes and strokes in a unit box


@dataclass
class Shape:
    pts: list[Pt]
    tone: float = 0.0
    texture: str | None = None  # None: the piece's fabric
    colour: RGB | None = None  # a fixed colour instead of the fabric (prints, buttons)
    front: bool = False  # hidden on the back view
    back: bool = False  # only on the back view


@dataclass
class Stroke:
    pts: list[Pt]
    width: float  # px at 1x
    tone: float = -0.3
    colour: RGB | None = None
    dash: float = 0.0  # dash length in px at 1x; 0 is a solid line
    front: bool = False
    back: bool = False


@dataclass
class Piece:
    shapes: list[Shape] = field(default_factory=list)
    strokes: list[Stroke] = field(default_factory=list)
    anchor: Pt = (0.5, 0.0)  # where a hanger holds the piece
    bar: float = 0.3  # half-length of the hanger bar
    clip: bool = False  # bottoms hang from a clip hanger
    aspect: float = 1.0

    def normalised(self) -> Piece:
        """Scale so the drawing spans x in [0, 1] and starts at y = 0."""
        xs = [x for s in self.shapes for x, _ in s.pts]
        ys = [y for s in self.shapes for _, y in s.pts]
        x0, y0, span = min(xs), min(ys), max(xs) - min(xs)

        def f(pts: list[Pt]) -> list[Pt]:
            return [((x - x0) / span, (y - y0) / span) for x, y in pts]

        return Piece(
            shapes=[replace(s, pts=f(s.pts)) for s in self.shapes],
            strokes=[replace(s, pts=f(s.pts)) for s in self.strokes],
            anchor=f([self.anchor])[0],
            bar=self.bar / span,
            clip=self.clip,
            aspect=(max(ys) - y0) / span,
        )


def bezier(p0: Pt, p1: Pt, p2: Pt, n: int = 10) -> list[Pt]:
    out = []
    for i in range(n + 1):
        t = i / n
        a, b, c = (1 - t) ** 2, 2 * t * (1 - t), t * t
        out.append((a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]))
    return out


def mirror(pts: list[Pt]) -> list[Pt]:
    return [(1 - x, y) for x, y in pts]


def rect(x0: float, y0: float, x1: float, y1: float) -> list[Pt]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def oval(cx: float, cy: float, rx: float, ry: float, n: int = 20, rot: float = 0.0) -> list[Pt]:
    out = []
    for i in range(n):
        a = 2 * math.pi * i / n
        x, y = rx * math.cos(a), ry * math.sin(a)
        out.append(
            (cx + x * math.cos(rot) - y * math.sin(rot), cy + x * math.sin(rot) + y * math.cos(rot))
        )
    return out


def both(pts: list[Pt]) -> list[list[Pt]]:
    return [pts, mirror(pts)]


def lerp(a: Pt, b: Pt, t: float) -> Pt:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


# --------------------------------------------------------------------------------------------
# Reading the product


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    colours: tuple[str, ...]
    tags: tuple[str, ...]
    text: str  # lowercased name + description + visual features + tags, negations removed
    photos: tuple[str, ...]

    def has(self, *words: str) -> bool:
        return any(w in self.text for w in words)

    def tag(self, *words: str) -> bool:
        return any(w in self.tags for w in words)


def read_catalog(path: Path) -> list[Product]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    products = []
    for raw in doc["products"]:
        item: dict[str, Any] = raw
        tags = tuple(str(t).lower() for t in item.get("tags", []))
        text = " ".join(
            [
                str(item.get("name", "")),
                str(item.get("description", "")),
                str(item.get("visual_features", "")),
                " ".join(tags),
            ]
        ).lower()
        # "без блискавки" (without a zipper) must not draw a zipper.
        text = re.sub(r"\bбез\s+\S+", " ", text)
        products.append(
            Product(
                sku=str(item["sku"]),
                name=str(item.get("name", "")),
                category=str(item.get("category", "")).lower(),
                colours=tuple(str(c) for c in item.get("colours", [])) or ("сірий",),
                tags=tags,
                text=text,
                photos=tuple(str(p) for p in item.get("photos", [])),
            )
        )
    return products


@dataclass(frozen=True)
class Fabric:
    kind: str  # plain plush velour quilt knit satin rib dots checks stripes denim linen
    base: RGB
    accent: RGB
    scale: float = 1.0  # pattern size multiplier


def fabric_of(p: Product) -> Fabric:
    denim = p.has("джинс", "денім")
    base = colour_of(p.colours[0], denim)
    accent = OFF_WHITE if luma(base) < 0.62 else NAVY
    if p.has("плюш", "тедді"):
        return Fabric("plush", base, accent)
    if p.has("велюр"):
        return Fabric("velour", base, accent)
    if p.has("стьоба"):
        return Fabric("quilt", base, accent)
    if p.tag("коси", "в'язаний") or p.has(" в'язк"):  # not "зав'язки" (ties)
        return Fabric("knit", base, accent)
    if p.has("сатин", "шовк"):
        return Fabric("satin", base, accent)
    if p.has("вертикальний рубчик"):
        return Fabric("rib", base, accent)
    if p.has("горох", "горош"):
        return Fabric("dots", base, accent, 0.8 if p.has("дрібн") else 1.0)
    if p.has("клітинк", "клітк", "тартан", "віші"):
        return Fabric("checks", base, accent, 0.45 if p.has("дрібн", "віші") else 1.0)
    if p.has("смужк", "смуга", "смугаст") and not p.has("лампас"):
        return Fabric("stripes", base, accent, 1.5 if p.has("широк") else 0.7)
    if denim:
        return Fabric("denim", base, STITCH)
    if p.has("льон", "льня"):
        return Fabric("linen", base, accent)
    return Fabric("plain", base, accent)


# --------------------------------------------------------------------------------------------
# Silhouettes


@dataclass
class TopSpec:
    length: float = 0.85  # shoulder line to hem
    sleeve: str = "long"  # long | short | elbow | none
    neck: str = "crew"  # crew | v | deep_v | high | collar | stand | lapels | polo
    hood: bool = False
    open_front: bool = False
    shoulder: float = 0.2
    chest: float = 0.22
    waist: tuple[float, float] | None = None  # (half-width, y below the shoulder line)
    hem: float = 0.22
    hem_arc: float = 0.0  # >0 curves the hem down in the middle
    rib: bool = False  # ribbed cuffs and hem band
    cuffs: bool = False  # plain fabric cuffs (shirts)
    zipper: bool = False
    kangaroo: bool = False
    drawstrings: bool = False
    pockets: str = ""  # "" | welt | chest | sleeve
    buttons: str = ""  # "" | placket | open | double | polo
    belt: float | None = None  # belt position below the shoulder line
    artwork: str = ""  # chest print: "" | logo | sunflower | text
    lampas: RGB | None = None
    piping: RGB | None = None
    stitch: bool = False


def top_piece(s: TopSpec, accent: RGB, back: bool = False) -> Piece:
    """A top, dress, jacket or coat: one outline polygon with sleeves, then details over it."""
    ys = 0.2 if s.hood else 0.06
    nw = 0.1 if s.hood or s.neck in ("collar", "lapels", "polo") else 0.085
    dip = {
        "crew": 0.065,
        "v": 0.2,
        "deep_v": 0.32,
        "high": 0.025,
        "collar": 0.06,
        "stand": 0.03,
        "lapels": 0.06,
        "polo": 0.06,
    }[s.neck]
    if s.hood and s.neck == "crew":
        dip = 0.05
    if back:
        # The back neckline is high whatever the front looks like.
        dip = min(dip, 0.035)
    hem_y = ys + s.length
    n_l: Pt = (0.5 - nw, ys)
    sh_l: Pt = (0.5 - s.shoulder, ys + 0.04)
    armhole = {"short": 0.2, "elbow": 0.24, "long": 0.26, "none": 0.2}[s.sleeve]
    a_l: Pt = (0.5 - s.chest, ys + armhole)
    left: list[Pt] = [n_l]
    sleeve_quad: list[Pt] = []
    if s.sleeve == "none":
        # Thin straps: the bodice top is a straight line below the straps.
        left = [(0.5 - 0.13, ys + 0.12)]
        a_l = (0.5 - s.chest, ys + 0.16)
    else:
        reach, drop, half = {
            "short": (0.15, 0.2, 0.085),
            "elbow": (0.2, 0.34, 0.095),
            "long": (0.22, 0.66, 0.062),
        }[s.sleeve]
        cuff_c = (sh_l[0] - reach, ys + drop)
        mid = lerp(sh_l, a_l, 0.5)
        dx, dy = cuff_c[0] - mid[0], cuff_c[1] - mid[1]
        d = math.hypot(dx, dy)
        nx, ny = -dy / d, dx / d
        c1: Pt = (cuff_c[0] + nx * half, cuff_c[1] + ny * half)
        c2: Pt = (cuff_c[0] - nx * half, cuff_c[1] - ny * half)
        outer, inner = (c1, c2) if c1[0] < c2[0] else (c2, c1)
        left += [sh_l, outer, inner]
        sleeve_quad = [sh_l, outer, inner, a_l]
    left.append(a_l)
    if s.waist:
        left.append((0.5 - s.waist[0], ys + s.waist[1]))
    left.append((0.5 - s.hem, hem_y))
    hem_pts = bezier((0.5 - s.hem, hem_y), (0.5, hem_y + 2 * s.hem_arc), (0.5 + s.hem, hem_y), 8)
    right = list(reversed(mirror(left)))
    neckline = bezier((0.5 + nw, ys), (0.5, ys + 2 * dip), (0.5 - nw, ys), 8)
    body = left + hem_pts[1:-1] + right
    if s.sleeve != "none":
        body += neckline[1:-1]
    else:
        body += [(0.5 + 0.13, ys + 0.12), (0.5 - 0.13, ys + 0.12)]

    piece = Piece(anchor=(0.5, ys - 0.01), bar=s.shoulder + 0.02)
    shapes, strokes = piece.shapes, piece.strokes

    if s.hood:
        hood_out = (
            bezier((0.5 - nw - 0.06, ys + 0.05), (0.5 - 0.24, ys - 0.22), (0.5, ys - 0.19), 10)
            + bezier((0.5, ys - 0.19), (0.5 + 0.24, ys - 0.22), (0.5 + nw + 0.06, ys + 0.05), 10)[
                1:
            ]
        )
        shapes.append(Shape(hood_out, tone=-0.05))
        # The hood flattened over the back on the back view, its lining on the front view.
        flat = bezier((0.5 - nw - 0.05, ys), (0.5, ys + 0.5), (0.5 + nw + 0.05, ys), 12)
        shapes.append(Shape(flat, tone=-0.03, back=True))
        strokes.append(Stroke(flat, 1.5, -0.25, back=True))
    shapes.append(Shape(body))
    if s.sleeve == "none":
        for strap in both(rect(0.5 - 0.12, ys - 0.02, 0.5 - 0.105, ys + 0.13)):
            shapes.append(Shape(strap, tone=-0.05))
    else:
        for seam in both([sh_l, a_l]):
            strokes.append(Stroke(seam, 1.2, -0.18))
    # Inside of the back neckline.
    lower = bezier((0.5 + nw, ys), (0.5, ys + 2 * dip), (0.5 - nw, ys), 8)
    if s.sleeve != "none" and s.neck not in ("high", "stand"):
        upper = bezier((0.5 - nw, ys), (0.5, ys - 0.03), (0.5 + nw, ys), 8)
        shapes.append(Shape(upper + lower[1:-1], tone=-0.35, front=True))
        shapes.append(Shape(upper + list(reversed(upper))[1:-1], tone=-0.2))
        strokes.append(Stroke(lower, 2.5, -0.1))
    if s.hood:
        lining = bezier((0.5 - nw, ys + 0.01), (0.5, ys - 0.24), (0.5 + nw, ys + 0.01), 10)
        shapes.append(Shape(lining + lower[1:-1], tone=-0.3, front=True))
    if s.neck == "high":
        shapes.append(Shape(rect(0.5 - nw, ys - 0.07, 0.5 + nw, ys + 0.03), texture="rib"))
    if s.neck == "stand":
        shapes.append(
            Shape(rect(0.5 - nw - 0.01, ys - 0.06, 0.5 + nw + 0.01, ys + 0.03), texture="rib")
        )
    if s.rib and s.sleeve != "none":
        for q in both(sleeve_cuff(sleeve_quad, 0.1)):
            shapes.append(Shape(q, texture="rib", tone=-0.04))
        band = [(0.5 - s.hem, hem_y - 0.08), (0.5 + s.hem, hem_y - 0.08)]
        shapes.append(Shape([*band, (0.5 + s.hem, hem_y), (0.5 - s.hem, hem_y)], texture="rib"))
    if s.cuffs and s.sleeve == "long":
        for q in both(sleeve_cuff(sleeve_quad, 0.12)):
            shapes.append(Shape(q, tone=-0.04))
            strokes.append(Stroke([*q, q[0]], 1.0, -0.25))
    if s.lampas and s.sleeve != "none":
        for line in both([lerp(sh_l, sleeve_quad[1], 0.05), lerp(sh_l, sleeve_quad[1], 0.97)]):
            off = [(x + 0.018, y + 0.004) for x, y in line] if line[0][0] < 0.5 else line
            strokes.append(Stroke(off, 5.0, colour=s.lampas))
    if s.open_front or s.zipper or s.buttons in ("placket", "open", "double"):
        strokes.append(Stroke([(0.5, ys + dip * 2 * 0.75), (0.5, hem_y)], 1.5, -0.35, front=True))
    if s.neck == "v" or s.neck == "deep_v":
        strokes.append(Stroke(neckline, 3.0, -0.08))
    if s.neck in ("collar", "polo"):
        for c in both(
            [
                (0.5 - nw - 0.01, ys - 0.02),
                (0.5, ys + 0.07),
                (0.5 - 0.035, ys + 0.13),
                (0.5 - nw - 0.05, ys + 0.04),
            ]
        ):
            shapes.append(Shape(c, tone=0.06))
            strokes.append(Stroke([*c, c[0]], 1.2, -0.3))
    if s.neck == "lapels":
        for c in both(
            [
                (0.5 - nw, ys - 0.02),
                (0.5 - 0.01, ys + 0.34),
                (0.5 - 0.12, ys + 0.17),
                (0.5 - 0.14, ys + 0.11),
                (0.5 - nw - 0.06, ys + 0.07),
                (0.5 - nw - 0.02, ys - 0.02),
            ]
        ):
            shapes.append(Shape(c, tone=0.07, front=True))
            strokes.append(Stroke([*c, c[0]], 1.3, -0.3, front=True))
    if s.piping:
        strokes.append(Stroke(hem_pts, 3.0, colour=s.piping))
        if sleeve_quad:
            for cuff in both([sleeve_quad[1], sleeve_quad[2]]):
                strokes.append(Stroke(cuff, 3.0, colour=s.piping))
        strokes.append(Stroke([(0.5 + 0.02, ys + 0.12), (0.5 + 0.02, hem_y)], 2.5, colour=s.piping))
    if s.belt is not None:
        y = ys + s.belt
        half = (s.waist[0] if s.waist else s.chest) + 0.012
        shapes.append(Shape(rect(0.5 - half, y - 0.025, 0.5 + half, y + 0.025), tone=-0.12))
        shapes.append(Shape(rect(0.5 - 0.035, y - 0.035, 0.5 + 0.035, y + 0.035), tone=-0.2))
        strokes.append(Stroke([(0.51, y + 0.02), (0.535, y + 0.2)], 6.0, -0.12))
        strokes.append(Stroke([(0.49, y + 0.02), (0.455, y + 0.17)], 6.0, -0.12))
    if s.zipper:
        top = ys + (0.0 if s.neck == "stand" else dip * 0.5) - (0.06 if s.neck == "stand" else 0)
        strokes.append(Stroke([(0.5, top), (0.5, hem_y)], 3.5, colour=METAL, front=True))
        shapes.append(Shape(rect(0.49, top + 0.03, 0.51, top + 0.09), colour=METAL, front=True))
    if s.drawstrings:
        for x, dx in ((0.5 - 0.05, -0.01), (0.5 + 0.05, 0.012)):
            strokes.append(
                Stroke([(x, ys + dip), (x + dx, ys + dip + 0.2)], 3.0, colour=OFF_WHITE, front=True)
            )
    if s.kangaroo:
        y0, y1 = ys + s.length * 0.55, ys + s.length * 0.85
        pocket = [(0.5 - 0.12, y0), (0.5 + 0.12, y0), (0.5 + 0.17, y1), (0.5 - 0.17, y1)]
        shapes.append(Shape(pocket, tone=-0.04, front=True))
        strokes.append(Stroke([*pocket, pocket[0]], 1.5, -0.25, front=True))
        for side in both([(0.5 - 0.12, y0), (0.5 - 0.17, y0 + 0.1), (0.5 - 0.17, y1)]):
            strokes.append(Stroke(side, 2.0, -0.3, front=True))
    if s.pockets == "welt":
        y0 = ys + s.length * 0.62
        for p in both([(0.5 - 0.16, y0), (0.5 - 0.11, y0 + 0.13)]):
            strokes.append(Stroke(p, 2.5, -0.35, front=True))
    if s.pockets == "chest":
        for p in both(rect(0.5 - 0.16, ys + 0.17, 0.5 - 0.06, ys + 0.3)):
            shapes.append(Shape(p, tone=-0.03, front=True))
            strokes.append(
                Stroke([*p, p[0]], 1.2, -0.3, colour=STITCH if s.stitch else None, front=True)
            )
        for f in both(rect(0.5 - 0.165, ys + 0.15, 0.5 - 0.055, ys + 0.2)):
            shapes.append(Shape(f, tone=-0.08, front=True))
            shapes.append(
                Shape(
                    oval((f[0][0] + f[1][0]) / 2, ys + 0.185, 0.012, 0.012),
                    colour=COPPER if s.stitch else accent,
                    front=True,
                )
            )
    if s.pockets == "sleeve" and sleeve_quad:
        m = lerp(
            lerp(sleeve_quad[0], sleeve_quad[3], 0.5),
            lerp(sleeve_quad[1], sleeve_quad[2], 0.5),
            0.4,
        )
        p = oval(m[0], m[1], 0.035, 0.05, 4, math.pi / 4)
        shapes.append(Shape(p, tone=-0.08, front=True))
        strokes.append(Stroke([*p, p[0]], 1.2, -0.3, front=True))
    if s.buttons:
        cols = {"double": (0.5 - 0.07, 0.5 + 0.07), "open": (0.5 + 0.025,)}.get(s.buttons, (0.5,))
        start = ys + (dip * 2 if s.buttons in ("open", "double") else 0.1)
        if s.neck == "lapels":
            start = ys + 0.36
        end = ys + (0.16 if s.buttons == "polo" else s.length - 0.06)
        n = 2 if s.buttons == "polo" else max(3, round((end - start) / 0.12))
        for x in cols:
            for i in range(n):
                y = start + (end - start) * (i + 0.5) / n
                r = 0.018 if s.buttons in ("double", "open") else 0.012
                shapes.append(Shape(oval(x, y, r, r, 12), tone=-0.35, front=True))
    if s.artwork == "logo":
        cy = ys + 0.34
        shapes.append(Shape(oval(0.5, cy, 0.065, 0.065, 24), colour=accent, front=True))
        shapes.append(Shape(oval(0.5, cy, 0.04, 0.04, 24), tone=0.0, front=True))
        shapes.append(
            Shape(
                [(0.47, cy + 0.025), (0.5, cy - 0.03), (0.53, cy + 0.025)],
                colour=accent,
                front=True,
            )
        )
    if s.artwork == "sunflower":
        cy = ys + 0.34
        for i in range(12):
            a = 2 * math.pi * i / 12
            shapes.append(
                Shape(
                    oval(0.5 + 0.1 * math.cos(a), cy + 0.1 * math.sin(a), 0.07, 0.028, 12, a),
                    colour=(238, 184, 36),
                    front=True,
                )
            )
        shapes.append(Shape(oval(0.5, cy, 0.07, 0.07, 24), colour=(92, 58, 30), front=True))
    if s.artwork == "text":
        x, cy, hh, ww = 0.5 - 0.13, ys + 0.2, 0.07, 0.05
        letters: list[list[Pt]] = [
            [(0, 0), (0, 1)],
            [(1, 0), (0, 0.5), (1, 1)],  # K
            [(0, 0), (0.5, 0.5), (1, 0)],
            [(0.5, 0.5), (0.5, 1)],  # Y
            [(0.5, 0), (0.5, 1)],  # I
            [(0, 0), (0.5, 1), (1, 0)],  # V
        ]
        slots = [0, 0, 1, 1, 2, 3]
        for slot, letter in zip(slots, letters, strict=True):
            ox = x + slot * (ww + 0.022)
            pts = [(ox + px * ww, cy - hh / 2 + py * hh) for px, py in letter]
            strokes.append(Stroke(pts, 3.0, colour=accent, front=True))
    if s.stitch:
        strokes.append(Stroke(hem_pts, 1.2, colour=STITCH, dash=3, front=False))
        yb = hem_y - 0.07
        strokes.append(Stroke([(0.5 - s.hem, yb), (0.5 + s.hem, yb)], 1.2, colour=STITCH, dash=3))
    return piece


def sleeve_cuff(quad: list[Pt], depth: float) -> list[Pt]:
    """A band at the end of a sleeve quad [shoulder, outer cuff, inner cuff, armpit]."""
    sh, outer, inner, arm = quad
    lo = math.hypot(outer[0] - sh[0], outer[1] - sh[1])
    li = math.hypot(inner[0] - arm[0], inner[1] - arm[1])
    return [lerp(outer, sh, depth / lo), outer, inner, lerp(inner, arm, depth / li)]


@dataclass
class BottomSpec:
    kind: str = "trousers"  # trousers | shorts | skirt
    leg: str = "straight"  # tapered | straight | wide | flare | skinny
    length: float = 1.55
    waist: float = 0.27
    elastic: bool = False
    drawstring: bool = False
    cuffs: bool = False
    creases: bool = False
    cargo: bool = False
    jeans: bool = False
    side_pockets: bool = False
    pleats: bool = False
    button: bool = False
    ties: bool = False
    lampas: RGB | None = None
    piping: RGB | None = None


def bottom_piece(s: BottomSpec) -> Piece:
    piece = Piece(anchor=(0.5, 0.0), bar=s.waist + 0.05, clip=True)
    shapes, strokes = piece.shapes, piece.strokes
    wb = 0.075
    if s.kind == "skirt":
        hem = 0.42 if s.pleats else 0.34
        hem_pts = bezier((0.5 - hem, s.length), (0.5, s.length + 0.08), (0.5 + hem, s.length), 12)
        outline = [(0.5 - s.waist, wb), (0.5 + s.waist, wb), *reversed(hem_pts)]
        shapes.append(Shape(outline))
        if s.pleats:
            n = 18
            for i in range(n):
                t0, t1 = i / n, (i + 1) / n
                top0 = lerp((0.5 - s.waist, wb), (0.5 + s.waist, wb), t0)
                top1 = lerp((0.5 - s.waist, wb), (0.5 + s.waist, wb), t1)
                b0 = hem_pts[0] if i == 0 else hem_pts[round(t0 * 12)]
                b1 = hem_pts[round(t1 * 12)]
                shapes.append(Shape([top0, top1, b1, b0], tone=-0.1 if i % 2 else 0.06))
        else:
            strokes.append(Stroke([(0.5, wb), (0.5, s.length * 0.55)], 1.2, -0.2, front=True))
        shapes.append(
            Shape(
                rect(0.5 - s.waist, 0, 0.5 + s.waist, wb),
                tone=-0.06,
                texture="rib" if s.elastic else None,
            )
        )
        if s.button:
            shapes.append(Shape(oval(0.5, wb / 2, 0.018, 0.018, 12), tone=-0.4, front=True))
        return piece

    hip = s.waist + 0.05
    crotch = 0.42 if s.kind == "trousers" else 0.36
    length = 0.55 if s.kind == "shorts" else s.length
    outer, inner = {
        "tapered": (0.24, 0.075),
        "straight": (0.31, 0.05),
        "wide": (0.47, 0.015),
        "flare": (0.36, 0.012),
        "skinny": (0.21, 0.085),
    }[s.leg]
    if s.kind == "shorts":
        outer, inner = 0.38, 0.035
    left: list[Pt] = [(0.5 - s.waist, 0.0)]
    left.append((0.5 - hip, 0.3))
    if s.leg == "flare" and s.kind == "trousers":
        left.append((0.5 - 0.26, length * 0.62))
    left.append((0.5 - outer, length))
    left.append((0.5 - inner, length))
    body = [*left, (0.5, crotch), *reversed(mirror(left))]
    shapes.append(Shape(body))
    strokes.append(Stroke([(0.5, wb), (0.5, crotch)], 1.5, -0.3))
    shapes.append(
        Shape(
            rect(0.5 - s.waist, 0, 0.5 + s.waist, wb),
            tone=-0.06,
            texture="rib" if s.elastic else None,
        )
    )
    if s.cuffs:
        for side in both(
            [
                (0.5 - outer + 0.005, length - 0.1),
                (0.5 - inner - 0.005, length - 0.1),
                (0.5 - inner, length),
                (0.5 - outer, length),
            ]
        ):
            shapes.append(Shape(side, texture="rib", tone=-0.05))
    if s.drawstring or s.ties:
        for x, dx in ((0.48, -0.03), (0.52, 0.035)):
            strokes.append(
                Stroke(
                    [(x, wb * 0.6), (x + dx, wb + 0.18)],
                    3.0,
                    colour=OFF_WHITE if s.drawstring else None,
                    tone=-0.1,
                    front=True,
                )
            )
    if s.creases:
        for line in both(
            [(0.5 - (hip + 0.02) / 2 - 0.01, wb + 0.03), (0.5 - (outer + inner) / 2, length)]
        ):
            strokes.append(Stroke(line, 1.5, 0.18))
    if s.side_pockets or s.jeans:
        for line in both(
            bezier(
                (0.5 - s.waist + 0.06, wb),
                (0.5 - s.waist + 0.02, 0.2),
                (0.5 - hip + 0.005, 0.24),
                6,
            )
        ):
            strokes.append(Stroke(line, 1.6, -0.3, front=True))
    if s.cargo:
        for p in both(rect(0.5 - hip + 0.01, length * 0.45, 0.5 - hip + 0.15, length * 0.62)):
            shapes.append(Shape(p, tone=-0.05))
            strokes.append(Stroke([*p, p[0]], 1.3, -0.3))
        for f in both(rect(0.5 - hip + 0.005, length * 0.43, 0.5 - hip + 0.155, length * 0.48)):
            shapes.append(Shape(f, tone=-0.12))
    if s.jeans:
        strokes.append(
            Stroke(
                [(0.5 - s.waist, wb - 0.012), (0.5 + s.waist, wb - 0.012)],
                1.2,
                colour=STITCH,
                dash=3,
            )
        )
        fly = [(0.53, wb), (0.53, 0.28), (0.5, 0.33)]
        strokes.append(Stroke(fly, 1.2, colour=STITCH, dash=3, front=True))
        for line in both([(0.5 - hip + 0.03, 0.3), (0.5 - outer + 0.03, length - 0.03)]):
            strokes.append(Stroke(line, 1.2, colour=STITCH, dash=3))
        for line in both([(0.5 - outer, length - 0.04), (0.5 - inner, length - 0.04)]):
            strokes.append(Stroke(line, 1.2, colour=STITCH, dash=3))
        for x in (0.5 - s.waist + 0.04, 0.5, 0.5 + s.waist - 0.04):
            shapes.append(Shape(rect(x - 0.008, -0.01, x + 0.008, wb + 0.01), tone=-0.08))
        shapes.append(Shape(oval(0.5, wb / 2, 0.02, 0.02, 12), colour=COPPER, front=True))
        for x in (0.5 - hip + 0.012, 0.5 + hip - 0.012):
            shapes.append(Shape(oval(x, 0.235, 0.008, 0.008, 8), colour=COPPER, front=True))
    if s.lampas:
        for line in both([(0.5 - hip + 0.025, 0.09), (0.5 - outer + 0.022, length)]):
            strokes.append(Stroke(line, 5.0, colour=s.lampas))
    if s.piping:
        for line in both([(0.5 - outer, length), (0.5 - inner, length)]):
            strokes.append(Stroke(line, 3.0, colour=s.piping))
    return piece


def garment(p: Product, fab: Fabric, back: bool) -> list[Piece]:
    """The pieces (one, or a top and a bottom for sets) drawn for the product."""
    cat = p.category
    rib_cuffs = p.has("рубчик", "манжет")
    lampas = fab.accent if p.has("лампас") else None
    if cat.startswith(("костюм", "комплект", "піжам")) or p.has("комплект"):
        pyjama = cat.startswith("піжам")
        piping = fab.accent if p.has("кант") else None
        if pyjama:
            top = TopSpec(
                sleeve="short" if p.has("короткий рукав", "шорти") else "long",
                neck="collar",
                buttons="placket",
                length=0.72,
                chest=0.23,
                hem=0.24,
                piping=piping,
                cuffs=True,
            )
        elif p.has("худі", "капюшон"):
            top = TopSpec(
                hood=True,
                zipper=p.has("блискавк"),
                kangaroo=p.has("кенгуру"),
                drawstrings=p.has("шнур"),
                pockets="welt" if p.has("кишен") and not p.has("кенгуру") else "",
                rib=True,
                length=0.78,
            )
        elif p.has("олімпійк") or (p.has("блискавк") and p.has("стійк")):
            top = TopSpec(neck="stand", zipper=True, rib=True, lampas=lampas, length=0.74)
        elif p.has("поло", "комір"):
            top = TopSpec(neck="polo", buttons="polo", cuffs=True, length=0.74, chest=0.23)
        elif p.has("лонгслів"):
            top = TopSpec(neck="high", shoulder=0.17, chest=0.18, hem=0.18, length=0.7)
        else:
            top = TopSpec(rib=rib_cuffs, length=0.74)
        bottom = BottomSpec(
            kind="shorts" if p.has("шорти") else "trousers",
            leg=leg_of(p),
            elastic=p.has("резинк", "джогер") or not pyjama,
            drawstring=p.has("джогер", "шнур"),
            cuffs=p.has("джогер"),
            lampas=lampas,
            piping=piping,
        )
        return [top_piece(top, fab.accent, back).normalised(), bottom_piece(bottom).normalised()]
    if cat.startswith(("штан", "джинс", "шорт", "легінс")):
        jeans = cat.startswith("джинс") or p.has("джинс")
        bottom = BottomSpec(
            kind="shorts" if cat.startswith("шорт") else "trousers",
            leg=leg_of(p),
            elastic=p.has("резинк", "джогер"),
            drawstring=p.has("джогер", "шнур"),
            cuffs=p.has("манжет", "джогер"),
            creases=p.has("стрілк"),
            cargo=p.has("карго"),
            jeans=jeans,
            side_pockets=p.has("кишен") and not p.has("карго"),
            ties=p.has("зав'яз"),
            lampas=lampas,
        )
        return [bottom_piece(bottom).normalised()]
    if cat.startswith("спідниц"):
        bottom = BottomSpec(
            kind="skirt",
            length=0.95 if p.has("міді", "макс") else 0.62,
            waist=0.22,
            elastic=p.has("резинк"),
            pleats=p.has("плісе", "складк"),
            button=p.has("ґудзик"),
        )
        return [bottom_piece(bottom).normalised()]
    return [top_piece(top_spec(p, fab, rib_cuffs, lampas), fab.accent, back).normalised()]


def leg_of(p: Product) -> str:
    if p.has("кльош", "розширен"):
        return "flare"
    if p.has("широк", "палаццо"):
        return "wide"
    if p.has("скіні"):
        return "skinny"
    if p.has("звужен", "джогер", "мом"):
        return "tapered"
    return "straight"


def top_spec(p: Product, fab: Fabric, rib: bool, lampas: RGB | None) -> TopSpec:
    cat = p.category
    oversize = p.has("оверсайз", "об'ємн", "спущен")
    shoulder = 0.25 if oversize else 0.2
    chest = 0.26 if oversize else 0.22
    printed = (
        "sunflower"
        if p.has("соняшник")
        else "text"
        if p.has("напис")
        else "logo"
        if p.has("принт", "логотип")
        else ""
    )
    common: dict[str, Any] = {"shoulder": shoulder, "chest": chest, "hem": chest, "lampas": lampas}
    if cat.startswith("футболк") or cat.startswith("топ"):
        return TopSpec(
            sleeve="elbow" if p.has("до ліктя", "подовжен") else "short",
            length=0.95 if p.has("подовжен") else 0.78,
            artwork=printed,
            **common,
        )
    if cat.startswith("худі"):
        return TopSpec(
            hood=True,
            zipper=p.has("блискавк"),
            kangaroo=p.has("кенгуру"),
            drawstrings=p.has("шнур", "капюшон") and not p.has("блискавк"),
            pockets="welt" if p.has("кишен") and not p.has("кенгуру") else "",
            rib=True,
            artwork=printed,
            length=0.82,
            **common,
        )
    if cat.startswith("світшот"):
        return TopSpec(rib=True, artwork=printed, length=0.78, **common)
    if cat.startswith("сукн") or cat.startswith("сукон"):
        straps = p.has("бретел")
        shirt = p.has("сорочк")
        fitted = p.has("облягаюч", "футляр")
        return TopSpec(
            sleeve="none" if straps else "long" if p.has("довгий рукав") else "short",
            neck="collar" if shirt else "high" if fitted else "v" if p.has("v-") else "crew",
            length=1.45 if p.has("міді") else 1.2,
            shoulder=0.18,
            chest=0.19 if fitted else 0.2,
            waist=(0.16, 0.4) if not shirt else (0.19, 0.42),
            hem=0.19 if fitted else 0.26 if shirt else 0.44,
            hem_arc=0.0 if fitted else 0.03,
            buttons="placket" if shirt and p.has("ґудзик") else "",
            belt=0.41 if p.tag("пояс") else None,
        )
    if cat.startswith("кардиган"):
        return TopSpec(
            neck="deep_v",
            open_front=True,
            buttons="open" if p.has("ґудзик") else "",
            rib=True,
            length=0.92 if oversize else 0.82,
            **common,
        )
    if cat.startswith("сороч") or cat.startswith("блуз"):
        return TopSpec(
            neck="collar",
            buttons="placket",
            cuffs=True,
            pockets="chest" if p.has("кишен") else "",
            hem_arc=0.035,
            length=0.86,
            **common,
        )
    if cat.startswith("пальт") or p.has("тренч", "плащ"):
        double = p.has("двобортн")
        return TopSpec(
            neck="lapels",
            open_front=True,
            buttons="double" if double else "placket" if p.has("ґудзик") else "",
            length=1.42 if p.has("довг", "нижче коліна") else 1.28,
            shoulder=0.22,
            chest=0.24,
            waist=(0.23, 0.45),
            hem=0.3,
            belt=0.45 if p.tag("пояс") else None,
            pockets="welt",
        )
    # Jackets and anything else: a short top with a front opening.
    denim = fab.kind == "denim"
    puffer = fab.kind == "quilt"
    return TopSpec(
        neck="collar" if p.has("комір") and not p.has("бомбер") else "stand",
        hood=p.has("капюшон"),
        zipper=p.has("блискавк"),
        buttons="placket" if p.has("ґудзик") else "",
        rib=p.has("манжет", "рубчик"),
        pockets="chest" if denim else "sleeve" if p.has("рукаві") else "welt",
        stitch=denim,
        length=0.78 if puffer else 0.7,
        shoulder=0.23 if puffer else shoulder,
        chest=0.27 if puffer else 0.23,
        hem=0.26 if puffer else 0.23,
        lampas=lampas,
    )


# --------------------------------------------------------------------------------------------
# Fabrics


def fabric_array(fab: Fabric, kind: str, size: tuple[int, int], scale: float, seed: int) -> Arr:
    """RGB float array (h, w, 3) of the fabric; pattern sizes follow the piece width `scale`."""
    w, h = size
    base = np.array(fab.base, dtype=np.float32)
    acc = np.array(fab.accent, dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out: Arr = np.broadcast_to(base, (h, w, 3)).astype(np.float32)
    rng = np.random.default_rng(seed)

    def shade(f: Arr) -> Arr:
        # The additive part keeps texture visible on black, where scaling alone does nothing.
        shaded: Arr = np.clip(out * f[..., None] + 45 * (f[..., None] - 1), 0, 255)
        return shaded.astype(np.float32)

    def blotches(cell: float, amp: float) -> Arr:
        # Low-resolution noise upscaled: a soft, mottled pile that still compresses well.
        gw, gh = max(2, int(w / cell)), max(2, int(h / cell))
        noise = rng.random((gh, gw), dtype=np.float32)
        img = Image.fromarray((noise * 255).astype(np.uint8)).resize(
            (w, h), Image.Resampling.BILINEAR
        )
        return (1 + amp * (np.asarray(img, dtype=np.float32) / 127.5 - 1)).astype(np.float32)

    if kind == "rib":
        period = max(3.0, scale * 0.022)
        return shade(0.9 + 0.1 * (np.sin(2 * np.pi * xx / period) > 0))
    if kind == "plush":
        return shade(blotches(scale * 0.03, 0.07) * blotches(scale * 0.1, 0.05))
    if kind == "velour":
        return shade(
            1 + 0.09 * np.sin((xx + yy * 0.6) / (scale * 0.18)) * blotches(scale * 0.06, 0.3)
        )
    if kind == "quilt":
        period = scale * 0.16
        ph = (yy % period) / period
        return shade(0.72 + 0.3 * np.sin(np.pi * ph) ** 0.6)
    if kind == "knit":
        col = scale * 0.09
        lx = np.abs((xx % col) / col - 0.5)
        v = np.sin(2 * np.pi * (yy / (scale * 0.045) + lx * 1.6))
        cable = ((xx // col) % 3 == 1).astype(np.float32)
        return shade(
            0.9 + 0.1 * (v > 0) - 0.08 * cable * (np.sin(2 * np.pi * yy / (scale * 0.12)) > 0)
        )
    if kind == "satin":
        return shade(0.93 + 0.16 * np.sin((xx * 0.8 + yy) / (scale * 0.13)) ** 2)
    if kind == "linen":
        # Slub yarn: a few darker horizontal streaks; whole rows keep the PNG small.
        rows = np.repeat(rng.random(h // 6 + 1, dtype=np.float32) > 0.8, 6)[:h]
        return shade(np.broadcast_to((1 - 0.06 * rows)[:, None], (h, w)).astype(np.float32))
    if kind == "denim":
        # Faded denim: lighter along the middle of each panel.
        fade = 1 + 0.08 * np.cos(2 * np.pi * (xx / (scale * 0.5))) ** 2
        return shade((blotches(scale * 0.15, 0.05) * fade).astype(np.float32))
    if kind == "dots":
        step = scale * 0.085 * fab.scale
        r = step * 0.22
        row = np.floor(yy / step)
        cx = (xx + (row % 2) * step / 2) % step - step / 2
        cy = yy % step - step / 2
        mask = (cx**2 + cy**2) < r * r
        out[mask] = acc
        return out
    if kind == "stripes":
        period = scale * 0.07 * fab.scale
        mask = (yy % period) < period * 0.45
        out[mask] = acc
        return out
    if kind == "checks":
        period = scale * 0.16 * fab.scale
        band = ((yy % period) < period * 0.42).astype(np.float32)
        vband = ((xx % period) < period * 0.42).astype(np.float32)
        dark = 1 - 0.28 * band - 0.28 * vband
        img = shade(dark.astype(np.float32))
        if fab.scale >= 0.8:
            line = (np.abs(yy % period - period * 0.71) < 1.5) | (
                np.abs(xx % period - period * 0.71) < 1.5
            )
            img[line] = acc
        return img
    return out


# --------------------------------------------------------------------------------------------
# Rendering


def render_piece(piece: Piece, fab: Fabric, width: float, back: bool, seed: int) -> Image.Image:
    """The piece on a transparent canvas `width` px wide (plus a margin), with soft shading."""
    m = int(width * 0.04) + 4
    size = (math.ceil(width) + 2 * m, math.ceil(width * piece.aspect) + 2 * m)
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    cache: dict[str, Arr] = {}
    dark = luma(fab.base) < 0.2

    def shift(t: float) -> float:
        # Seams and linings are drawn darker; on black fabric they can only be lighter.
        return -0.55 * t if dark and t < 0 else t

    def px(pts: list[Pt]) -> list[Pt]:
        return [(m + x * width, m + y * width) for x, y in pts]

    for sh in piece.shapes:
        if (back and sh.front) or (not back and sh.back):
            continue
        mask = Image.new("L", size, 0)
        ImageDraw.Draw(mask).polygon(px(sh.pts), fill=255)
        if sh.colour is not None:
            fill = Image.new("RGB", size, tone(sh.colour, sh.tone))
        else:
            kind = sh.texture or fab.kind
            if kind not in cache:
                cache[kind] = fabric_array(fab, kind, size, width, seed)
            arr, t = cache[kind], shift(sh.tone)
            arr = arr + (255 - arr) * t if t >= 0 else arr * (1 + t)
            fill = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
        layer.paste(fill, (0, 0), mask)
    draw = ImageDraw.Draw(layer)
    for st in piece.strokes:
        if (back and st.front) or (not back and st.back):
            continue
        colour = st.colour if st.colour is not None else tone(fab.base, shift(st.tone))
        pts = px(st.pts)
        wpx = max(1, round(st.width * SS))
        if st.dash:
            for a, b in dashes(pts, st.dash * SS * 1.5):
                draw.line([a, b], fill=(*colour, 255), width=wpx)
        else:
            draw.line(pts, fill=(*colour, 255), width=wpx, joint="curve")
    # Soft darkening towards the edges gives the flat drawing some volume.
    alpha = layer.getchannel("A")
    blur = np.asarray(alpha.filter(ImageFilter.GaussianBlur(width * 0.035)), dtype=np.float32) / 255
    rgb = np.asarray(layer.convert("RGB"), dtype=np.float32)
    lit = rgb * (0.8 + 0.2 * blur)[..., None]
    out = Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8), "RGB").convert("RGBA")
    out.putalpha(alpha)
    return out


def dashes(pts: list[Pt], dash: float) -> list[tuple[Pt, Pt]]:
    out = []
    on = True
    for a, b in itertools.pairwise(pts):
        seg = math.hypot(b[0] - a[0], b[1] - a[1])
        pos = 0.0
        while pos < seg:
            end = min(seg, pos + dash)
            if on:
                out.append((lerp(a, b, pos / seg), lerp(a, b, end / seg)))
            on = not on
            pos = end
    return out


def lines_vary(img: Arr, tolerance: float = 26.0, share: float = 0.04) -> bool:
    """Whether every row and column has some pixels clearly off its median colour."""
    for lines in (img, img.transpose(1, 0, 2)):
        median = np.median(lines, axis=1, keepdims=True)
        off = (np.abs(lines - median).max(axis=2) > tolerance).mean(axis=1)
        if float(off.min()) < share:
            return False
    return True


def backdrop(rnd: random.Random, garment_luma: float) -> Arr:
    """The backdrop at half size: it is smooth, so it is upscaled rather than drawn in full."""
    img = backdrop_attempt(rnd, garment_luma)
    # A flat row or column (e.g. where the gradient clips to white) would be trimmed: redraw.
    for _ in range(50):
        if lines_vary(img):
            break
        img = backdrop_attempt(rnd, garment_luma)
    return img


def backdrop_attempt(rnd: random.Random, garment_luma: float) -> Arr:
    w, h = W // 2, H // 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx /= w
    yy /= h
    # Keep the garment readable: dark backdrops for light garments and the other way round,
    # leaving headroom for the gradient below so it is not clipped away.
    if garment_luma > 0.68:
        value = rnd.uniform(0.32, 0.5)
    elif garment_luma < 0.35:
        value = rnd.uniform(0.6, 0.74)
    elif garment_luma < 0.5:
        value = rnd.uniform(0.72, 0.82)
    else:
        value = rnd.uniform(0.3, 0.4)
    r, g, b = colorsys.hsv_to_rgb(rnd.random(), rnd.uniform(0.06, 0.28), value)
    base = np.array([r, g, b], dtype=np.float32) * 255
    # The light falls off along both axes, so no row or column of the backdrop is one flat colour:
    # the shop's photo intake trims flat borders (screenshot chrome), and a trimmed copy would be
    # hashed as a tight garment crop, where garments of one cut look alike.
    gx = rnd.choice([-1, 1]) * rnd.uniform(0.14, 0.19)
    gy = rnd.choice([-1, 1]) * rnd.uniform(0.14, 0.19)
    light = (gx * (xx - 0.5) + gy * (yy - 0.5)) * 2
    for _ in range(rnd.choice([1, 2, 2, 3])):
        # Soft bands, like window light falling across the table.
        phi = rnd.uniform(0, math.pi)
        u = (xx - 0.5) * math.cos(phi) + (yy - 0.5) * math.sin(phi)
        c, width = rnd.uniform(-0.45, 0.45), rnd.uniform(0.07, 0.2)
        light += rnd.choice([-1, 1]) * rnd.uniform(0.07, 0.14) * np.exp(-(((u - c) / width) ** 4))
    if rnd.random() < 0.35:
        # Planks of a wooden table or floor.
        vertical = rnd.random() < 0.5
        coord = xx if vertical else yy
        n = rnd.randint(3, 6)
        idx = np.floor(coord * n).astype(np.int32)
        offsets = np.array([rnd.uniform(-0.06, 0.06) for _ in range(n + 1)], dtype=np.float32)
        light += offsets[idx]
        light -= 0.12 * ((coord * n) % 1 < 0.008 * n)
    vx, vy = rnd.uniform(0.3, 0.7), rnd.uniform(0.3, 0.7)
    light -= rnd.uniform(0.03, 0.08) * ((xx - vx) ** 2 + (yy - vy) ** 2)
    img: Arr = np.clip(base[None, None, :] + 255 * light[..., None], 0, 255)
    return img.astype(np.float32)


def hanger(
    draw: ImageDraw.ImageDraw, x: float, y: float, half: float, clip: bool, colour: RGB
) -> None:
    w = round(4 * SS)
    draw.line([(x, y), (x, y - 14 * SS)], fill=colour, width=w)
    draw.arc([x - 10 * SS, y - 34 * SS, x + 10 * SS, y - 12 * SS], 180, 90, fill=colour, width=w)
    if clip:
        draw.line([(x - half, y), (x + half, y)], fill=colour, width=w)
        for cx in (x - half * 0.85, x + half * 0.85):
            draw.rectangle([cx - 5 * SS, y - 2 * SS, cx + 5 * SS, y + 14 * SS], fill=colour)


@dataclass
class Scene:
    """A photo before it is composed: the backdrop, the garment layer and the random state."""

    backdrop: Arr  # (H*SS, W*SS, 3) float32
    layer: Image.Image  # RGBA garment (and hanger) at SS size, rotated, no shadow
    rnd: random.Random  # as `render` goes on with it (the shadow)


def render(p: Product, view: int, variant: int) -> Image.Image:
    """One photo of the product: view 0 is a front flat lay, view 1 a back view on a hanger."""
    return compose(scene(p, view, variant))


def garment_layer(p: Product, view: int, variant: int) -> Image.Image:
    """The garment of a photo alone, RGBA at photo size: for pasting it on other backgrounds."""
    return scene(p, view, variant).layer.reduce(SS)


def scene(p: Product, view: int, variant: int) -> Scene:
    """The backdrop and the garment layer of one photo (see `render`)."""
    rnd = random.Random(stable_seed(p.sku, variant, view))
    fab = fabric_of(p)
    on_hanger = view % 2 == 1
    pieces = garment(p, fab, back=on_hanger)
    bg_small = Image.fromarray(backdrop(rnd, luma(fab.base)).astype(np.uint8), "RGB")
    bg = np.asarray(bg_small.resize((W * SS, H * SS), Image.Resampling.BILINEAR), np.float32)
    layer = Image.new("RGBA", (W * SS, H * SS), (0, 0, 0, 0))
    hangers = Image.new("RGBA", layer.size, (0, 0, 0, 0))
    cw, ch = W * SS, H * SS
    boxes: list[tuple[float, float, float]] = []  # (x, y, width) per piece
    if len(pieces) == 1:
        pc = pieces[0]
        frac = rnd.uniform(0.6, 0.72) if on_hanger else rnd.uniform(0.74, 0.92)
        width = min(frac * cw, (0.78 if on_hanger else 0.9) * ch / pc.aspect)
        height = width * pc.aspect
        cx = cw / 2 + rnd.uniform(-0.07, 0.07) * cw
        cx = min(max(cx, width / 2 + 6 * SS), cw - width / 2 - 6 * SS)
        if on_hanger:
            top = 0.13 * ch
        else:
            top = (ch - height) / 2 + rnd.uniform(-0.05, 0.05) * ch
            top = min(max(top, 4 * SS), ch - height - 4 * SS)
        boxes.append((cx - width / 2, top, width))
    else:
        top_pc, bot_pc = pieces
        stacked = not on_hanger and rnd.random() < 0.5
        if stacked:
            wt = rnd.uniform(0.6, 0.7) * cw
            wb = min(
                rnd.uniform(0.36, 0.44) * cw,
                (ch * 0.95 - wt * top_pc.aspect * 0.75) / bot_pc.aspect,
            )
            xt = cw / 2 - wt / 2 + rnd.uniform(-0.1, 0.1) * cw
            xb = cw / 2 - wb / 2 + rnd.uniform(-0.12, 0.12) * cw
            yt = rnd.uniform(0.02, 0.05) * ch
            yb = yt + wt * top_pc.aspect * 0.72
            boxes += [(xt, yt, wt), (xb, min(yb, ch - wb * bot_pc.aspect - 4 * SS), wb)]
        else:
            scale = 0.92 if on_hanger else 1.0
            wt = rnd.uniform(0.5, 0.56) * cw * scale
            wb = min(rnd.uniform(0.34, 0.4) * cw * scale, 0.78 * ch / bot_pc.aspect)
            left_top = rnd.random() < 0.6
            gap = (cw - wt - wb) / 3
            xt = gap * 0.8 if left_top else cw - wt - gap * 0.8
            xb = cw - wb - gap * 0.8 if left_top else gap * 0.8
            yt = 0.14 * ch if on_hanger else rnd.uniform(0.06, 0.2) * ch
            yb = 0.14 * ch if on_hanger else rnd.uniform(0.12, 0.28) * ch
            yb = min(yb, ch - wb * bot_pc.aspect - 4 * SS)
            boxes += [(xt, yt, wt), (xb, yb, wb)]
    hanger_colour: RGB = rnd.choice([(150, 104, 62), (34, 34, 36), (200, 200, 204)])
    order = list(enumerate(zip(pieces, boxes, strict=True)))
    # In a flat lay the top lies over the trousers' waistband.
    for i, (pc, (x, y, width)) in reversed(order) if len(order) > 1 else order:
        img = render_piece(pc, fab, width, on_hanger, stable_seed(p.sku, i))
        m = (img.width - math.ceil(width)) // 2
        if on_hanger:
            ax, ay = x + pc.anchor[0] * width, y + pc.anchor[1] * width
            hanger(ImageDraw.Draw(hangers), ax, ay, pc.bar * width, pc.clip, hanger_colour)
        layer.alpha_composite(img, (round(x) - m, round(y) - m))
    if on_hanger:
        hangers.alpha_composite(layer)
        layer = hangers
    angle = rnd.uniform(-3, 3) if on_hanger else rnd.uniform(-9, 9)
    layer = layer.rotate(angle, resample=Image.Resampling.BILINEAR, center=(cw / 2, ch / 2))
    return Scene(bg, layer, rnd)


def compose(shot: Scene) -> Image.Image:
    """The photo: the garment with its drop shadow on the backdrop, at photo size."""
    bg, layer, rnd = shot.backdrop, shot.layer, shot.rnd
    # Drop shadow: the garment's blurred alpha, shifted away from the light.
    alpha = layer.getchannel("A")
    shadow = alpha.filter(ImageFilter.GaussianBlur(9 * SS))
    dx, dy = rnd.randint(-8, 8) * SS, rnd.randint(4, 12) * SS
    shifted = Image.new("L", layer.size, 0)
    shifted.paste(shadow, (dx, dy))
    sh = np.asarray(shifted, dtype=np.float32) / 255
    shaded = bg * (1 - rnd.uniform(0.25, 0.4) * sh)[..., None]
    canvas = Image.fromarray(np.clip(shaded, 0, 255).astype(np.uint8), "RGB").convert("RGBA")
    canvas.alpha_composite(layer)
    return canvas.convert("RGB").reduce(SS)


def encode(img: Image.Image) -> bytes:
    pal = img.quantize(
        colors=PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    buf = io.BytesIO()
    pal.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Generation with distinct perceptual hashes


@dataclass
class Photo:
    sku: str
    path: str
    data: bytes
    phash: Any
    dhash: Any
    colorhash: Any
    variant: int = 0


def hashes(sku: str, path: str, data: bytes) -> Photo:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return Photo(
            sku,
            path,
            data,
            imagehash.phash(im),
            imagehash.dhash(im),
            imagehash.colorhash(im, binbits=3),
        )


def generate(products: list[Product]) -> list[Photo]:
    """Photos of all products, each product at the first variant that keeps pHashes apart."""
    done: list[Photo] = []
    for p in products:

        def shoot(view: int, path: str, variant: int, sku: str = p.sku, prod: Product = p) -> Photo:
            return replace(hashes(sku, path, encode(render(prod, view, variant))), variant=variant)

        chosen: list[Photo] | None = None
        best_variant, best_dist = 0, -1
        for variant in range(MAX_VARIANTS):
            photos: list[Photo] = []
            dist = 64
            for view, path in enumerate(p.photos):
                photos.append(shoot(view, path, variant))
                dist = min(dist, *(photos[-1].phash - b.phash for b in done), 64)
                if dist < SEARCH_PHASH_DISTANCE:
                    break  # no need to draw the other views of a rejected variant
            if dist > best_dist:
                best_variant, best_dist = variant, dist
            if dist >= SEARCH_PHASH_DISTANCE:
                chosen = photos
                break
        if chosen is None:
            chosen = [shoot(view, path, best_variant) for view, path in enumerate(p.photos)]
        done += chosen
    return done


def min_distance(photos: list[Photo], attr: str) -> tuple[int, str, str]:
    best = (10**6, "", "")
    for a, b in itertools.combinations(photos, 2):
        if a.sku == b.sku:
            continue
        d = int(getattr(a, attr) - getattr(b, attr))
        if d < best[0]:
            best = (d, a.path, b.path)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed files instead of writing"
    )
    args = parser.parse_args(argv)
    catalog: Path = args.catalog
    products = [p for p in read_catalog(catalog) if p.photos]
    photos = generate(products)
    root = catalog.parent
    failed = False
    for ph in photos:
        target = root / ph.path
        if args.check:
            if not target.is_file():
                print(f"missing: {target}")
                failed = True
            elif target.read_bytes() != ph.data:
                print(f"differs: {target}")
                failed = True
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.is_file() or target.read_bytes() != ph.data:
                target.write_bytes(ph.data)
    # Leftovers of renamed or removed products would otherwise linger in the photo folders.
    expected = {(root / ph.path).resolve() for ph in photos}
    for folder in sorted({path.parent for path in expected}):
        for stale in sorted(set(folder.glob("*.png")) - expected):
            print(f"not in the catalog: {stale}")
            failed = failed or args.check
    total = sum(len(ph.data) for ph in photos)
    largest = max(photos, key=lambda ph: len(ph.data))
    print(
        f"{len(photos)} photos of {len(products)} products, {total / 1024:.1f} KiB in total, "
        f"largest {largest.path} {len(largest.data) / 1024:.1f} KiB"
    )
    for attr in ("phash", "dhash", "colorhash"):
        d, a, b = min_distance(photos, attr)
        print(f"min {attr} distance between different products: {d} ({a} vs {b})")
        if attr == "phash" and d < MIN_PHASH_DISTANCE:
            print(f"phash distance {d} is below {MIN_PHASH_DISTANCE}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
