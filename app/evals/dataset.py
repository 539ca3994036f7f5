"""Eval datasets: a folder with `dataset.yaml` naming the catalog and one manifest per suite.

The format is documented in evals/README.md; a shop copies the folder, puts its own photos and
messages in, and runs `kramar eval --dataset DIR`. Every problem is reported as
`file: case N: field: what is wrong`, all at once, before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from app.dialog.intents import SHOP_TOPICS, Intent

# The intents the offline agent reads (app/dialog/intents.py), in their order.
INTENTS: tuple[str, ...] = get_args(Intent)
SHOP_INTENTS = frozenset(SHOP_TOPICS)
Split = Literal["dev", "test"]
SUITES = ("vision", "text", "dialog")
MAX_MANIFEST_BYTES = 5 * 1024 * 1024


class DatasetError(ValueError):
    """A dataset that cannot be run; `problems` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _skus(value: Any) -> Any:
    """`expected` may be one SKU, a list of SKUs, or null/[] for "no product"."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


Skus = Annotated[list[str], BeforeValidator(_skus)]


class _Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    split: Split
    slice: str = "all"
    """What kind of case: the transform of a photo, the kind of a message."""
    notes: str = ""


class VisionCase(_Case):
    file: str
    """The photo, relative to the manifest's folder."""
    expected: Skus = Field(default_factory=list)
    """The SKU(s) the photo shows, any of which is right; [] or null: none may be named."""
    sha256: str | None = None


class TextCase(_Case):
    text: str = Field(min_length=1, max_length=2000)
    expected: Skus = Field(default_factory=list)
    intent: Intent
    context: str | None = None
    """The SKU already in the conversation (a follow-up), if any."""
    lang: str = "uk"


class Expect(BaseModel):
    """What the replies to one turn must show."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contains: list[str] = Field(default_factory=list)
    contains_any: list[str] = Field(default_factory=list)
    not_contains: list[str] = Field(default_factory=list)
    card: str | None = None
    no_card: bool = False
    asks: bool = False
    stock: dict[str, str] | None = None
    price_of: str | None = None
    handoff: Literal["L1", "L2"] | None = None
    needs: str | None = None
    """The issue this check needs (pending until it lands)."""


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    say: str | None = None
    press: str | None = None
    contact: str | None = None
    photo: str | None = None
    expect: Expect | None = None

    @model_validator(mode="after")
    def _one_action(self) -> Turn:
        given = [k for k in ("say", "press", "contact", "photo") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a turn is exactly one of say, press, contact, photo")
        return self


class OrderOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: str
    size: str
    colour: str
    qty: int = 1
    total: float
    status: str = "new"
    delivery: str | None = None
    city: str | None = None
    branch: str | None = None
    needs: str | None = None


class HandoffOutcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Literal["L1", "L2"]
    reason: str
    needs: str | None = None


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    order: OrderOutcome | None = None
    no_order: bool = False
    handoff: HandoffOutcome | None = None
    no_handoff: bool = False


class Dialogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    split: Split
    lang: str = "uk"
    notes: str = ""
    turns: list[Turn] = Field(min_length=1)
    outcome: Outcome = Field(default_factory=Outcome)


class _Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str


class VisionManifest(_Manifest):
    cases: list[VisionCase]


class TextManifest(_Manifest):
    cases: list[TextCase]


class DialogManifest(_Manifest):
    dialogues: list[Dialogue]


class Index(BaseModel):
    """dataset.yaml: the catalog the cases are about and where each suite's manifest is."""

    model_config = ConfigDict(extra="forbid")

    name: str = "dataset"
    catalog: str
    suites: dict[Literal["vision", "text", "dialog"], str] = Field(default_factory=dict)
    thresholds: str | None = "thresholds.yaml"


class Dataset(BaseModel):
    """A loaded, validated dataset; paths are absolute."""

    name: str
    root: Path
    catalog: Path
    thresholds: Path | None
    vision: list[VisionCase] = Field(default_factory=list)
    vision_root: Path | None = None
    text: list[TextCase] = Field(default_factory=list)
    dialogues: list[Dialogue] = Field(default_factory=list)


M = TypeVar("M", bound=BaseModel)


def _read(path: Path, model: type[M], problems: list[str]) -> M | None:
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            problems.append(f"{path}: larger than {MAX_MANIFEST_BYTES} bytes")
            return None
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        problems.append(f"{path}: cannot be read: {error.strerror}")
        return None
    except yaml.YAMLError as error:
        problems.append(f"{path}: not YAML: {error}")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            where = ": ".join(_location(item["loc"]))
            problems.append(f"{path}: {where}: {item['msg']}")
        return None


def _location(loc: tuple[int | str, ...]) -> list[str]:
    """("cases", 3, "intent") → ["case 4", "intent"]: numbered as a person counts."""
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int) and i > 0:
            parts[-1] = f"{str(loc[i - 1]).rstrip('s')} {part + 1}"
        else:
            parts.append(str(part))
    return parts or ["(top)"]


def load_dataset(root: Path, suites: tuple[str, ...] = SUITES) -> Dataset:
    """The dataset in `root` (a folder with dataset.yaml); raises DatasetError listing every
    problem: unknown fields, intents outside the contract, missing photos, duplicate ids."""
    root = root.resolve()
    problems: list[str] = []
    index = _read(root / "dataset.yaml", Index, problems)
    if index is None:
        raise DatasetError(problems)
    catalog = (root / index.catalog).resolve()
    if not catalog.is_file():
        problems.append(f"{root / 'dataset.yaml'}: catalog: no file {catalog}")
    thresholds = (root / index.thresholds).resolve() if index.thresholds else None
    dataset = Dataset(name=index.name, root=root, catalog=catalog, thresholds=thresholds)
    for suite in suites:
        relative = index.suites.get(suite)  # type: ignore[call-overload]
        if relative is None:
            continue
        path = (root / relative).resolve()
        if suite == "vision":
            vision = _read(path, VisionManifest, problems)
            if vision is not None:
                dataset.vision = vision.cases
                dataset.vision_root = path.parent
                for n, case in enumerate(vision.cases, start=1):
                    if not (path.parent / case.file).is_file():
                        problems.append(f"{path}: case {n}: file: no photo {case.file}")
        elif suite == "text":
            text = _read(path, TextManifest, problems)
            if text is not None:
                dataset.text = text.cases
        else:
            dialog = _read(path, DialogManifest, problems)
            if dialog is not None:
                dataset.dialogues = dialog.dialogues
                seen: set[str] = set()
                for n, dialogue in enumerate(dialog.dialogues, start=1):
                    if dialogue.id in seen:
                        problems.append(f"{path}: dialogue {n}: id: {dialogue.id} twice")
                    seen.add(dialogue.id)
                    for turn in dialogue.turns:
                        if turn.photo and not (root / turn.photo).is_file():
                            problems.append(f"{path}: dialogue {n}: photo: no file {turn.photo}")
    if problems:
        raise DatasetError(problems)
    return dataset
