"""Case results and their summaries; the run itself goes through pydantic-evals.

Each suite hands `run_cases` its cases, a task (the system under test, called once per case) and
a judge (output → outcome and flags). pydantic-evals runs the task case by case, times it, keeps
the metrics the task records (tokens, cost) and catches a case that raises; the summaries here
add what it does not have: Wilson intervals, wrong answers apart from "not sure", per-slice rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic_evals import Case
from pydantic_evals import Dataset as EvalDataset
from pydantic_evals.dataset import increment_eval_metric, set_eval_attribute
from pydantic_evals.evaluators import Evaluator, EvaluatorContext

from app.evals.stats import Rate, percentile
from app.llm.costs import utc_today

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from app.llm.costs import CostLedger

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True)
class Verdict:
    """How one case went: `outcome` in words, `flags` per metric (absent: not applicable)."""

    outcome: str
    flags: dict[str, bool]
    confidence: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseResult:
    suite: str
    name: str
    split: str
    slices: dict[str, str]
    outcome: str
    flags: dict[str, bool]
    latency_ms: float
    tokens: int = 0
    cost_usd: float = 0.0
    confidence: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "split": self.split,
            "slices": self.slices,
            "outcome": self.outcome,
            "flags": self.flags,
            "latency_ms": round(self.latency_ms, 3),
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "confidence": self.confidence,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Item(Generic[In]):
    """One case to run: its name, split, slices (for the per-slice rows) and the task's input."""

    name: str
    split: str
    slices: dict[str, str]
    inputs: In


class Meter:
    """Tokens and dollars a block of work spent, read from the model chain's ledger."""

    def __init__(self, ledger: CostLedger) -> None:
        self._ledger = ledger

    async def totals(self) -> tuple[int, float]:
        spend = await self._ledger.spend(utc_today())
        return sum(s.tokens_in + s.tokens_out for s in spend), sum(s.usd for s in spend)


async def run_cases(
    suite: str,
    items: Sequence[Item[In]],
    task: Callable[[In], Awaitable[Out]],
    judge: Callable[[Item[In], Out], Verdict],
    meter: Meter,
) -> list[CaseResult]:
    """Run `task` on every item (one at a time: latencies are per case, and the dialogues share
    one shop) and judge each output. A case whose task raises is an "error" with every flag
    of the suite false, so a crash never counts as a pass."""
    by_name = {item.name: item for item in items}
    verdicts: dict[str, Verdict] = {}

    async def measured(inputs: In) -> Out:
        tokens, usd = await meter.totals()
        output = await task(inputs)
        tokens_after, usd_after = await meter.totals()
        increment_eval_metric("tokens", tokens_after - tokens)
        increment_eval_metric("cost_usd", usd_after - usd)
        return output

    @dataclass
    class Judge(Evaluator[In, Out, dict[str, Any]]):
        def evaluate(self, ctx: EvaluatorContext[In, Out, dict[str, Any]]) -> dict[str, bool | str]:
            verdict = judge(by_name[str(ctx.name)], ctx.output)
            verdicts[str(ctx.name)] = verdict
            if verdict.confidence is not None:
                set_eval_attribute("confidence", verdict.confidence)
            return {**verdict.flags, "outcome": verdict.outcome}

    dataset = EvalDataset[In, Out, dict[str, Any]](
        name=suite,
        cases=[Case(name=item.name, inputs=item.inputs, metadata={}) for item in items],
        evaluators=[Judge()],
    )
    report = await dataset.evaluate(measured, name=suite, max_concurrency=1, progress=False)
    applicable = sorted({flag for v in verdicts.values() for flag in v.flags})
    results: list[CaseResult] = []
    for case in report.cases:
        item = by_name[case.name]
        verdict = verdicts[case.name]
        results.append(
            CaseResult(
                suite,
                case.name,
                item.split,
                item.slices,
                verdict.outcome,
                verdict.flags,
                case.task_duration * 1e3,
                int(case.metrics.get("tokens", 0)),
                float(case.metrics.get("cost_usd", 0.0)),
                verdict.confidence,
                verdict.detail,
            )
        )
    for failure in report.failures:
        item = by_name[failure.name]
        results.append(
            CaseResult(
                suite,
                failure.name,
                item.split,
                item.slices,
                "error",
                dict.fromkeys(applicable, False),
                0.0,
                detail={"error": failure.error_message},
            )
        )
    order = {item.name: i for i, item in enumerate(items)}
    return sorted(results, key=lambda r: order[r.name])


# Flags whose hit is bad: the summary shows them as rates too, and a gate on them is a "max".
BAD = frozenset({"wrong_sku", "other_wrong", "wrong_answer", "ask", "handoff"})


@dataclass(frozen=True)
class Summary:
    """One suite, one contender, one split."""

    suite: str
    contender: str
    split: str
    cases: int
    rates: dict[str, Rate]
    latency_p50_ms: float
    latency_p95_ms: float
    tokens: int
    cost_usd: float
    errors: int

    def as_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "contender": self.contender,
            "split": self.split,
            "cases": self.cases,
            "rates": {name: rate.as_json() for name, rate in self.rates.items()},
            "latency_p50_ms": round(self.latency_p50_ms, 3),
            "latency_p95_ms": round(self.latency_p95_ms, 3),
            "tokens": self.tokens,
            "cost_usd": self.cost_usd,
            "errors": self.errors,
        }


def summarize(suite: str, contender: str, split: str, results: Sequence[CaseResult]) -> Summary:
    """Every flag as a rate over the cases it applies to; `split` "all" takes every case."""
    chosen = [r for r in results if split == "all" or r.split == split]
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for result in chosen:
        for flag, hit in result.flags.items():
            counts[flag][0] += int(hit)
            counts[flag][1] += 1
    latencies = [r.latency_ms for r in chosen if r.outcome != "error"]
    return Summary(
        suite,
        contender,
        split,
        len(chosen),
        {flag: Rate(hits, total) for flag, (hits, total) in sorted(counts.items())},
        percentile(latencies, 50),
        percentile(latencies, 95),
        sum(r.tokens for r in chosen),
        sum(r.cost_usd for r in chosen),
        sum(r.outcome == "error" for r in chosen),
    )


def by_slice(results: Sequence[CaseResult], key: str, split: str) -> dict[str, list[CaseResult]]:
    """The results of `split` grouped by the value of slice `key`."""
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for result in results:
        if (split == "all" or result.split == split) and key in result.slices:
            groups[result.slices[key]].append(result)
    return dict(sorted(groups.items()))
