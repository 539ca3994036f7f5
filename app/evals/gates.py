"""evals/thresholds.yaml: the targets a run is held to, and which of them wait for an issue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.evals.dataset import DatasetError

if TYPE_CHECKING:
    from pathlib import Path

    from app.evals.results import Summary


class Gate(BaseModel):
    """`metric` of `suite` on `split`, for `contender`, must be at least `min` / at most `max`.

    The lower end of the Wilson interval is not used: with 30 cases it would demand perfection.
    The point estimate is compared, and the interval is printed beside it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    suite: Literal["vision", "text", "dialog"]
    metric: str
    split: Literal["dev", "test", "all"] = "test"
    contender: str = "offline"
    min: float | None = Field(default=None, ge=0, le=1)
    max: float | None = Field(default=None, ge=0, le=1)
    enforce: bool = True
    pending: str | None = None
    """The issue whose work this gate waits for: reported, never failing the run."""
    note: str = ""

    @model_validator(mode="after")
    def _one_bound(self) -> Gate:
        if (self.min is None) == (self.max is None):
            raise ValueError("a gate has exactly one of min and max")
        if not self.enforce and not self.pending:
            raise ValueError("a gate that is not enforced says which issue it waits for (pending)")
        return self


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gates: list[Gate]


def load_gates(path: Path) -> list[Gate]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Thresholds.model_validate(data).gates
    except OSError as error:
        raise DatasetError([f"{path}: cannot be read: {error.strerror}"]) from error
    except (yaml.YAMLError, ValidationError) as error:
        raise DatasetError([f"{path}: {error}"]) from error


Status = Literal["pass", "FAIL", "pending", "not run"]


@dataclass(frozen=True)
class Judged:
    gate: Gate
    status: Status
    value: str

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def judge(gates: list[Gate], summaries: list[Summary]) -> list[Judged]:
    """Each gate against the summary it names; a gate whose suite did not run is "not run"."""
    found = {(s.suite, s.contender, s.split): s for s in summaries}
    judged: list[Judged] = []
    for gate in gates:
        summary = found.get((gate.suite, gate.contender, gate.split))
        rate = summary.rates.get(gate.metric) if summary else None
        if rate is None or not rate.total:
            judged.append(Judged(gate, "not run", "—"))
            continue
        met = rate.value >= gate.min if gate.min is not None else rate.value <= (gate.max or 0)
        status: Status = "pass" if met else ("FAIL" if gate.enforce else "pending")
        if not gate.enforce and met:
            status = "pending"  # met already, but still waits for its issue to be enforced
        judged.append(Judged(gate, status, str(rate)))
    return judged
